-- rawx schema, part 13: a notice on every change to a user row. Each node
-- keeps the Basic credentials it has verified, with the user they belong
-- to, so a repeat request costs no round trip; any change to any user (a
-- password, deactivation, superuser flag, deletion) empties every node's
-- cache when it commits, whatever wrote it (the API, `rawx admin`, SQL).
CREATE FUNCTION rawx_users_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('rawx_users', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER users_changed AFTER UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION rawx_users_changed();
