-- rawx schema, part 6: the controllers' work-signing keys. (Join tokens
-- are V4's mesh_join_tokens.)

-- The Ed25519 public key each control node signs work submissions with;
-- a joining node is given all of them, so any controller may send it work.
CREATE TABLE mesh_controller_keys (
    hostname    text PRIMARY KEY CHECK (hostname <> ''),
    public_key  text NOT NULL,                                  -- 32 bytes, hex
    modified    timestamptz NOT NULL DEFAULT now()
);
