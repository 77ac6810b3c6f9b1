-- rawx schema, part 9: what the mesh knows of each instance.
--
-- `mesh_peers`: its live mesh links, as the control nodes' link-state
-- databases see them (rewritten every few seconds). Links carry no
-- direction in the mesh's adverts, so an instance's `peers` and
-- `reverse_peers` are both this list.
--
-- `mesh_certificate`: the SHA-256 (hex) of the certificate it joined with.
-- Deprovisioning it revokes that certificate; the revocation outlives the
-- instance (a node that joins again under the name gets a new certificate,
-- and the old one must stay out), so revoked certificates have a table.
ALTER TABLE instances
    ADD COLUMN mesh_peers text[] NOT NULL DEFAULT '{}',
    ADD COLUMN mesh_certificate text;

CREATE TABLE mesh_revoked_certificates (
    certificate text PRIMARY KEY,
    hostname    text NOT NULL,
    revoked     timestamptz NOT NULL DEFAULT now()
);
