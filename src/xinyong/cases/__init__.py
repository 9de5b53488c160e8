"""What every due-process case shares (objections, repair, commitments, complaints): case numbers, query codes,
the timeline, idempotency keys, attachments, the outbound sync outbox and the due-process settings."""
