//! Frames: what two linked nodes say to each other on a QUIC stream.
//!
//! On the wire a frame is a 4-byte big-endian length, then that many bytes:
//! one version byte, the bincode encoding of [`Frame`], and the frame's bulk
//! bytes (the payload of [`Message::Data`] or [`Message::Payload`]) as they
//! are. The length is checked against [`MAX_FRAME_LEN`] before anything is
//! allocated, and bincode runs with the same limit, so a hostile peer can make
//! us allocate at most one frame's worth of memory and never makes the
//! decoder panic.
//!
//! The bulk bytes stay outside bincode so that they are never copied by the
//! framing: a received payload is a slice of the frame's buffer, and a relay
//! hands that same buffer to the next link's stream.

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::id::{NodeId, WorkUnitId};
use crate::revocation::SignedRevocations;
use crate::work::SignedSubmission;

/// The frame format this build speaks; the first byte of every frame body.
pub const PROTOCOL_VERSION: u8 = 3;
/// Largest frame body (version byte included) a node sends or accepts.
pub const MAX_FRAME_LEN: usize = 1 << 20;
/// Largest payload of one [`Message::Data`] frame, leaving room for the header.
pub const MAX_PAYLOAD_LEN: usize = MAX_FRAME_LEN - 4096;
/// Bytes of the length prefix.
pub const LEN_PREFIX: usize = 4;
/// Hop limit given to every routed frame when it is first sent.
pub const MAX_HOPS: u8 = 30;

/// One message between two directly linked nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frame {
    /// First frame on a link in each direction: who I am.
    Hello(Hello),
    /// A link-state advertisement being flooded.
    Advertise(Advertisement),
    /// A message for some node, forwarded hop by hop.
    Routed(Routed),
    /// Proof of life when there is nothing else to say.
    Keepalive,
    /// The certificates the mesh refuses, signed by a controller, flooded.
    Revocations(SignedRevocations),
}

/// The handshake: the id must match the sender's certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The sender's node id.
    pub node: NodeId,
    /// The sender's protocol version.
    pub version: u8,
    /// When the sender's process started (µs since the Unix epoch); a new
    /// epoch means the peer restarted.
    pub epoch: u64,
    /// The link cost the dialer asks for; the acceptor uses the same.
    pub link_cost: u32,
}

/// One node's adjacencies, flooded through the mesh.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advertisement {
    /// The node whose links these are.
    pub origin: NodeId,
    /// The origin's start time; a restarted node's sequence starts again.
    pub epoch: u64,
    /// Increases with every advertisement of one epoch.
    pub seq: u64,
    /// How long receivers keep this advertisement without a newer one.
    pub max_age_ms: u32,
    /// The origin's live links.
    pub links: Vec<Adjacency>,
}

/// A link from an advertisement's origin to a neighbour.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Adjacency {
    /// The neighbour.
    pub peer: NodeId,
    /// The cost of using the link (at least 1).
    pub cost: u32,
}

/// A message addressed to a node, with its envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routed {
    /// The node that should receive it.
    pub dest: NodeId,
    /// The node that sent it.
    pub source: NodeId,
    /// Hops left before the frame is dropped, so a transient loop dies out.
    pub hops_left: u8,
    /// What is being said.
    pub message: Message,
}

/// What a routed frame carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// Bytes of a work unit's stream, starting at `offset`.
    Data {
        /// The work unit.
        unit: WorkUnitId,
        /// Byte offset of `payload` in the unit's stream.
        offset: u64,
        /// The bytes; they travel after the encoded frame (module docs).
        #[serde(skip)]
        payload: Bytes,
    },
    /// The receiver holds a unit's stream up to `offset`.
    Ack {
        /// The work unit.
        unit: WorkUnitId,
        /// Bytes received so far.
        offset: u64,
    },
    /// A work unit's state on the node that runs it.
    Status {
        /// The work unit.
        unit: WorkUnitId,
        /// Its state.
        state: WorkState,
        /// A human reason, e.g. an exit status.
        detail: String,
        /// Bytes of output the unit has produced so far.
        output_size: u64,
    },
    /// Stop a work unit.
    Cancel {
        /// The work unit.
        unit: WorkUnitId,
    },
    /// Stop a work unit and forget its files.
    Release {
        /// The work unit.
        unit: WorkUnitId,
    },
    /// A frame could not be delivered to `dest`: no route, or out of hops.
    Unreachable {
        /// The node that could not be reached.
        dest: NodeId,
    },
    /// Controller to executor: run this signed work unit; its payload
    /// follows as [`Message::Payload`] frames. Sending it again for a unit
    /// the executor already holds asks where the payload upload stands.
    Submit(Box<SignedSubmission>),
    /// Controller to executor: bytes of a unit's payload at `offset`.
    Payload {
        /// The work unit.
        unit: WorkUnitId,
        /// Byte offset of `payload` in the unit's payload.
        offset: u64,
        /// The bytes; they travel after the encoded frame (module docs).
        #[serde(skip)]
        payload: Bytes,
    },
    /// Executor to controller: the payload is on disk up to `offset`; at the
    /// payload's full length it also means verified and started.
    PayloadAck {
        /// The work unit.
        unit: WorkUnitId,
        /// Payload bytes stored so far.
        offset: u64,
    },
    /// Controller to executor: (re)start sending the unit's output from
    /// `offset`, forgetting whatever was in flight.
    Read {
        /// The work unit.
        unit: WorkUnitId,
        /// First output byte wanted.
        offset: u64,
    },
    /// Controller to executor: answer with the unit's [`Message::Status`].
    QueryStatus {
        /// The work unit.
        unit: WorkUnitId,
    },
    /// Executor to controller: the submission is refused, and why.
    Refused {
        /// The work unit.
        unit: WorkUnitId,
        /// Why, for the job's explanation.
        reason: String,
    },
    /// Executor to controller: no such unit here (never submitted, or
    /// released).
    Gone {
        /// The work unit.
        unit: WorkUnitId,
    },
}

impl Message {
    /// The work unit the message is about; `None` for mesh notices. Each
    /// unit's messages travel a link on a QUIC stream of their own.
    pub fn unit(&self) -> Option<&WorkUnitId> {
        match self {
            Message::Data { unit, .. }
            | Message::Ack { unit, .. }
            | Message::Status { unit, .. }
            | Message::Cancel { unit }
            | Message::Release { unit }
            | Message::Payload { unit, .. }
            | Message::PayloadAck { unit, .. }
            | Message::Read { unit, .. }
            | Message::QueryStatus { unit }
            | Message::Refused { unit, .. }
            | Message::Gone { unit } => Some(unit),
            Message::Submit(signed) => Some(&signed.submission.unit),
            Message::Unreachable { .. } => None,
        }
    }

    /// The bytes that travel after the encoded frame, for the two messages
    /// that carry them.
    fn bulk_mut(&mut self) -> Option<&mut Bytes> {
        match self {
            Message::Data { payload, .. } | Message::Payload { payload, .. } => Some(payload),
            _ => None,
        }
    }
}

impl Frame {
    fn bulk_mut(&mut self) -> Option<&mut Bytes> {
        match self {
            Frame::Routed(routed) => routed.message.bulk_mut(),
            _ => None,
        }
    }

    fn bulk(&self) -> Bytes {
        match self {
            Frame::Routed(Routed {
                message: Message::Data { payload, .. } | Message::Payload { payload, .. },
                ..
            }) => payload.clone(),
            _ => Bytes::new(),
        }
    }
}

/// The life of a work unit, as Receptor numbers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkState {
    /// Accepted, not started (its payload may still be arriving).
    Pending,
    /// Running.
    Running,
    /// Finished with success.
    Succeeded,
    /// Finished with failure.
    Failed,
    /// Stopped by a cancel.
    Canceled,
}

impl WorkState {
    /// Whether the unit has finished and its output will not grow.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Canceled)
    }
}

/// Why bytes are not a frame.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The length prefix announces more than [`MAX_FRAME_LEN`].
    #[error("frame of {0} bytes exceeds the limit of {MAX_FRAME_LEN}")]
    TooLarge(u64),
    /// A zero-length frame has no version byte.
    #[error("empty frame")]
    Empty,
    /// The peer speaks another protocol version.
    #[error("unsupported frame version {0} (this node speaks {PROTOCOL_VERSION})")]
    Version(u8),
    /// The body is not a valid encoding of a frame.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// The body decodes but has bytes left over.
    #[error("{0} trailing bytes after the frame")]
    Trailing(usize),
    /// The stream ended inside a frame.
    #[error("stream ended inside a frame")]
    Truncated,
    /// Reading or writing the stream failed.
    #[error("stream: {0}")]
    Io(#[from] std::io::Error),
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_FRAME_LEN>()
}

/// A frame ready for the wire, in two pieces: its length prefix, version
/// byte and bincode encoding, then its bulk bytes (shared, not copied).
#[derive(Debug)]
pub struct Encoded {
    /// Length prefix, version byte and the bincode encoding.
    pub head: Bytes,
    /// The payload that follows, empty for frames without one.
    pub bulk: Bytes,
}

impl Encoded {
    /// Both pieces in one buffer (a copy of the bulk bytes).
    pub fn to_vec(&self) -> Vec<u8> {
        [&self.head[..], &self.bulk[..]].concat()
    }
}

/// Encodes `frame` with its length prefix, sharing its payload.
pub fn encode_shared(frame: &Frame) -> Result<Encoded, FrameError> {
    let mut head = vec![0u8; LEN_PREFIX];
    head.push(PROTOCOL_VERSION);
    bincode::serde::encode_into_std_write(frame, &mut head, config())
        .map_err(|e| FrameError::Malformed(e.to_string()))?;
    let bulk = frame.bulk();
    let body = head.len() - LEN_PREFIX + bulk.len();
    if body > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge(body as u64));
    }
    let prefix = u32::try_from(body).map_err(|_| FrameError::TooLarge(body as u64))?;
    head[..LEN_PREFIX].copy_from_slice(&prefix.to_be_bytes());
    Ok(Encoded {
        head: Bytes::from(head),
        bulk,
    })
}

/// Encodes `frame` with its length prefix into one buffer.
pub fn encode(frame: &Frame) -> Result<Vec<u8>, FrameError> {
    encode_shared(frame).map(|e| e.to_vec())
}

/// Reads the length prefix and checks it against the cap; `None` until four
/// bytes are there.
fn body_len(buf: &[u8]) -> Result<Option<usize>, FrameError> {
    let Some(prefix) = buf.first_chunk::<LEN_PREFIX>() else {
        return Ok(None);
    };
    checked_len(*prefix).map(Some)
}

fn checked_len(prefix: [u8; LEN_PREFIX]) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(prefix);
    match usize::try_from(len) {
        Ok(0) => Err(FrameError::Empty),
        Ok(n) if n <= MAX_FRAME_LEN => Ok(n),
        _ => Err(FrameError::TooLarge(u64::from(len))),
    }
}

/// Decodes one frame from the front of `buf`: `Ok(None)` if more bytes are
/// needed, else the frame and how many bytes it took.
pub fn decode(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
    let Some(len) = body_len(buf)? else {
        return Ok(None);
    };
    let Some(body) = buf.get(LEN_PREFIX..LEN_PREFIX + len) else {
        return Ok(None);
    };
    Ok(Some((decode_body(body)?, LEN_PREFIX + len)))
}

/// Decodes a frame body (no length prefix) from a slice.
pub fn decode_body(body: &[u8]) -> Result<Frame, FrameError> {
    decode_shared(Bytes::copy_from_slice(body))
}

/// Decodes a frame body (no length prefix); a payload it carries is a slice
/// of `body`, not a copy.
pub fn decode_shared(body: Bytes) -> Result<Frame, FrameError> {
    let (&version, rest) = body.split_first().ok_or(FrameError::Empty)?;
    if version != PROTOCOL_VERSION {
        return Err(FrameError::Version(version));
    }
    let (mut frame, used): (Frame, usize) = bincode::serde::decode_from_slice(rest, config())
        .map_err(|e| FrameError::Malformed(e.to_string()))?;
    let tail = 1 + used;
    match frame.bulk_mut() {
        Some(bulk) => *bulk = body.slice(tail..),
        None if tail < body.len() => return Err(FrameError::Trailing(body.len() - tail)),
        None => {}
    }
    Ok(frame)
}

/// Reads one frame; `Ok(None)` when the stream ends cleanly between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Frame>, FrameError> {
    let mut prefix = [0u8; LEN_PREFIX];
    let mut got = 0;
    while got < LEN_PREFIX {
        let n = r.read(&mut prefix[got..]).await?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(FrameError::Truncated)
            };
        }
        got += n;
    }
    // Checked before the body buffer exists: an announced 4 GiB costs nothing.
    let len = checked_len(prefix)?;
    // Filled as it is read, never zeroed first; `take` keeps the next
    // frame's bytes in the stream.
    let mut body = BytesMut::with_capacity(len);
    while body.len() < len {
        let left = (len - body.len()) as u64;
        if (&mut *r).take(left).read_buf(&mut body).await? == 0 {
            return Err(FrameError::Truncated);
        }
    }
    decode_shared(body.freeze()).map(Some)
}

/// Writes one frame.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    frame: &Frame,
) -> Result<(), FrameError> {
    let encoded = encode_shared(frame)?;
    w.write_all(&encoded.head).await?;
    w.write_all(&encoded.bulk).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn node_id() -> impl Strategy<Value = NodeId> {
        // webpki refuses some names that look like numbers ("9", "a.0x1"):
        // keep only what NodeId accepts.
        "[a-z0-9]{0,19}[a-z](\\.[a-z0-9]{0,9}[a-z]){0,2}"
            .prop_filter_map("a valid node id", |s| NodeId::new(s).ok())
    }

    fn unit_id() -> impl Strategy<Value = WorkUnitId> {
        "[A-Za-z0-9_-]{1,64}".prop_map(|s| WorkUnitId::new(s).expect("valid unit id"))
    }

    fn state() -> impl Strategy<Value = WorkState> {
        prop_oneof![
            Just(WorkState::Pending),
            Just(WorkState::Running),
            Just(WorkState::Succeeded),
            Just(WorkState::Failed),
            Just(WorkState::Canceled),
        ]
    }

    fn message() -> impl Strategy<Value = Message> {
        prop_oneof![
            (
                unit_id(),
                any::<u64>(),
                proptest::collection::vec(any::<u8>(), 0..2048)
            )
                .prop_map(|(unit, offset, payload)| Message::Data {
                    unit,
                    offset,
                    payload: Bytes::from(payload)
                }),
            (unit_id(), any::<u64>()).prop_map(|(unit, offset)| Message::Ack { unit, offset }),
            (unit_id(), state(), ".{0,40}", any::<u64>()).prop_map(
                |(unit, state, detail, output_size)| Message::Status {
                    unit,
                    state,
                    detail,
                    output_size
                }
            ),
            unit_id().prop_map(|unit| Message::Cancel { unit }),
            unit_id().prop_map(|unit| Message::Release { unit }),
            node_id().prop_map(|dest| Message::Unreachable { dest }),
            (
                unit_id(),
                any::<u64>(),
                proptest::collection::vec(any::<u8>(), 0..2048)
            )
                .prop_map(|(unit, offset, payload)| Message::Payload {
                    unit,
                    offset,
                    payload: Bytes::from(payload)
                }),
            (unit_id(), any::<u64>())
                .prop_map(|(unit, offset)| Message::PayloadAck { unit, offset }),
            (unit_id(), any::<u64>()).prop_map(|(unit, offset)| Message::Read { unit, offset }),
            unit_id().prop_map(|unit| Message::QueryStatus { unit }),
            (unit_id(), ".{0,40}").prop_map(|(unit, reason)| Message::Refused { unit, reason }),
            unit_id().prop_map(|unit| Message::Gone { unit }),
            (
                unit_id(),
                "[a-z-]{1,20}",
                node_id(),
                node_id(),
                any::<u64>(),
                any::<[u8; 32]>(),
                proptest::collection::vec(any::<u8>(), 0..80)
            )
                .prop_map(
                    |(unit, work_type, submitter, executor, len, key, signature)| {
                        Message::Submit(Box::new(SignedSubmission {
                            submission: crate::work::Submission {
                                unit,
                                work_type,
                                submitter,
                                executor,
                                not_before: len / 2,
                                not_after: len,
                                payload_len: len,
                                payload_sha256: key,
                            },
                            signer: crate::work::PublicKey(key),
                            signature,
                        }))
                    }
                ),
        ]
    }

    fn frame() -> impl Strategy<Value = Frame> {
        prop_oneof![
            (node_id(), any::<u8>(), any::<u64>(), any::<u32>()).prop_map(
                |(node, version, epoch, link_cost)| Frame::Hello(Hello {
                    node,
                    version,
                    epoch,
                    link_cost
                })
            ),
            (
                node_id(),
                any::<u64>(),
                any::<u64>(),
                any::<u32>(),
                proptest::collection::vec(
                    (node_id(), any::<u32>()).prop_map(|(peer, cost)| Adjacency { peer, cost }),
                    0..8
                )
            )
                .prop_map(|(origin, epoch, seq, max_age_ms, links)| {
                    Frame::Advertise(Advertisement {
                        origin,
                        epoch,
                        seq,
                        max_age_ms,
                        links,
                    })
                }),
            (node_id(), node_id(), any::<u8>(), message()).prop_map(
                |(dest, source, hops_left, message)| Frame::Routed(Routed {
                    dest,
                    source,
                    hops_left,
                    message
                })
            ),
            Just(Frame::Keepalive),
            (
                any::<u64>(),
                proptest::collection::vec(any::<[u8; 32]>(), 0..8),
                any::<[u8; 32]>(),
                proptest::collection::vec(any::<u8>(), 0..80),
            )
                .prop_map(|(issued_ms, certificates, key, signature)| {
                    Frame::Revocations(SignedRevocations {
                        list: crate::revocation::RevocationList {
                            issued_ms,
                            certificates,
                        },
                        signer: crate::work::PublicKey(key),
                        signature,
                    })
                }),
        ]
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
            .block_on(f)
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = decode(&bytes);
            let _ = decode_body(&bytes);
            let _ = block_on(read_frame(&mut bytes.as_slice()));
        }

        #[test]
        fn bytes_after_a_valid_header_never_panic(
            tail in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            // Random bytes rarely reach past the version check; this does.
            let mut buf = ((tail.len() + 1) as u32).to_be_bytes().to_vec();
            buf.push(PROTOCOL_VERSION);
            buf.extend_from_slice(&tail);
            let _ = decode(&buf);
        }

        #[test]
        fn encode_then_decode_is_identity(f in frame()) {
            let bytes = encode(&f).expect("encodes");
            let (back, used) = decode(&bytes).expect("decodes").expect("complete");
            prop_assert_eq!(used, bytes.len());
            prop_assert_eq!(&back, &f);
            let streamed = block_on(read_frame(&mut bytes.as_slice())).expect("reads");
            prop_assert_eq!(streamed, Some(f));
        }

        #[test]
        fn every_strict_prefix_asks_for_more(f in frame()) {
            let bytes = encode(&f).expect("encodes");
            for cut in 0..bytes.len() {
                prop_assert!(decode(&bytes[..cut]).expect("a prefix is not an error").is_none());
            }
        }

        #[test]
        fn oversize_length_is_refused_from_the_prefix_alone(
            len in (MAX_FRAME_LEN as u32 + 1)..=u32::MAX,
        ) {
            // Only the four prefix bytes exist: a refusal here proves the
            // decision came before any body was read or allocated.
            let prefix = len.to_be_bytes();
            prop_assert!(matches!(decode(&prefix), Err(FrameError::TooLarge(_))));
            let streamed = block_on(read_frame(&mut prefix.as_slice()));
            prop_assert!(matches!(streamed, Err(FrameError::TooLarge(_))));
        }
    }

    #[test]
    fn a_huge_inner_length_is_refused_by_the_limit() {
        // A valid outer frame whose reason claims 2^62 bytes: bincode must
        // refuse the claim instead of trying to reserve it.
        let f = Frame::Routed(Routed {
            dest: NodeId::new("a").expect("id"),
            source: NodeId::new("b").expect("id"),
            hops_left: 1,
            message: Message::Refused {
                unit: WorkUnitId::new("u").expect("id"),
                reason: "x".into(),
            },
        });
        let mut bytes = encode(&f).expect("encodes");
        // The reason's length is the varint right before its single byte.
        let at = bytes.len() - 2;
        assert_eq!(bytes[at], 1);
        bytes.truncate(at);
        bytes.push(0xfd); // bincode varint marker for a u64
        bytes.extend_from_slice(&(1u64 << 62).to_le_bytes());
        bytes.push(b'x');
        let body = (bytes.len() - LEN_PREFIX) as u32;
        bytes[..LEN_PREFIX].copy_from_slice(&body.to_be_bytes());
        assert!(matches!(decode(&bytes), Err(FrameError::Malformed(_))));
    }

    #[test]
    fn a_payload_is_shared_on_the_way_out_and_sliced_on_the_way_in() {
        let payload = Bytes::from(vec![7u8; 1000]);
        let encoded = encode_shared(&data_frame(payload.clone())).expect("encodes");
        assert_eq!(encoded.bulk.as_ptr(), payload.as_ptr());
        let body = Bytes::from(encoded.to_vec()).slice(LEN_PREFIX..);
        assert!(body.ends_with(&payload));
        let Frame::Routed(Routed {
            message: Message::Data { payload: got, .. },
            ..
        }) = decode_shared(body.clone()).expect("decodes")
        else {
            panic!("a Data frame");
        };
        assert_eq!(got, payload);
        assert!(body.as_ptr_range().contains(&got.as_ptr()));
    }

    #[test]
    fn other_versions_and_trailing_bytes_are_refused() {
        let mut bytes = encode(&Frame::Keepalive).expect("encodes");
        bytes[LEN_PREFIX] = PROTOCOL_VERSION + 1;
        assert!(matches!(decode(&bytes), Err(FrameError::Version(_))));

        let mut bytes = encode(&Frame::Keepalive).expect("encodes");
        bytes.push(0);
        let body = (bytes.len() - LEN_PREFIX) as u32;
        bytes[..LEN_PREFIX].copy_from_slice(&body.to_be_bytes());
        assert!(matches!(decode(&bytes), Err(FrameError::Trailing(1))));
    }

    #[test]
    fn invalid_ids_inside_a_frame_are_refused() {
        let mut bytes = encode(&Frame::Advertise(Advertisement {
            origin: NodeId::new("abc").expect("id"),
            epoch: 0,
            seq: 0,
            max_age_ms: 0,
            links: vec![],
        }))
        .expect("encodes");
        let at = bytes
            .windows(3)
            .position(|w| w == b"abc")
            .expect("the id is in the frame");
        bytes[at] = b'A';
        assert!(matches!(decode(&bytes), Err(FrameError::Malformed(_))));
    }

    #[test]
    fn a_frame_over_the_cap_is_not_encoded() {
        let f = data_frame(Bytes::from(vec![0u8; MAX_FRAME_LEN]));
        assert!(matches!(encode(&f), Err(FrameError::TooLarge(_))));
    }

    fn data_frame(payload: Bytes) -> Frame {
        Frame::Routed(Routed {
            dest: NodeId::new("a").expect("id"),
            source: NodeId::new("b").expect("id"),
            hops_left: 1,
            message: Message::Data {
                unit: WorkUnitId::new("u").expect("id"),
                offset: 9,
                payload,
            },
        })
    }
}
