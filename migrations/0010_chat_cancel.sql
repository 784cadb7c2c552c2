-- A generation can be stopped on request: its message keeps the text so far as `cancelled`, which resume continues.
ALTER TABLE chat_messages DROP CONSTRAINT chat_messages_status_check;
ALTER TABLE chat_messages ADD CONSTRAINT chat_messages_status_check
  CHECK (status IN ('pending', 'in_progress', 'complete', 'failed', 'cancelled'));
