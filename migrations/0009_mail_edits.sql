-- Mail can be edited by its sender (edited_at says when), and get recipients after it is sent.
-- Metadata entries get an id of their own, so that a client may read or change one by id.

ALTER TABLE mail ADD COLUMN edited_at timestamptz(3);

ALTER TABLE mail_metadata ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE mail_metadata ADD COLUMN created_at timestamptz(3) NOT NULL DEFAULT now();
CREATE UNIQUE INDEX mail_metadata_id_idx ON mail_metadata (gpt_id, id);
