-- Message dedupe is per sender: the same messageId from two senders is two messages (a sibling that reuses another's
-- messageId must neither read that sender's reply nor suppress its own message). Operators (admin or org callers,
-- stored with a NULL sender) are one sender class, hence COALESCE: NULLs would otherwise never collide.
DROP INDEX activity_logs_message_uniq;
CREATE UNIQUE INDEX activity_logs_sender_message_uniq
    ON activity_logs (workspace_id, COALESCE(source_id, ''), message_id)
    WHERE message_id IS NOT NULL;
DROP INDEX a2a_queue_idempotency_uniq;
CREATE UNIQUE INDEX a2a_queue_sender_idempotency_uniq
    ON a2a_queue (workspace_id, COALESCE(caller_id, ''), idempotency_key)
    WHERE idempotency_key IS NOT NULL AND status IN ('queued', 'dispatched');
