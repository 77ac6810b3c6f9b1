-- Every API object carries `created` and `modified`; roles and activity
-- entries get them too, so one serializer serves every resource.
ALTER TABLE roles
    ADD COLUMN created  timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN modified timestamptz NOT NULL DEFAULT now();

ALTER TABLE activity_stream
    ADD COLUMN created  timestamptz GENERATED ALWAYS AS ("timestamp") STORED,
    ADD COLUMN modified timestamptz GENERATED ALWAYS AS ("timestamp") STORED;
