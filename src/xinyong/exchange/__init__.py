"""Data exchange: the outbox, upstream reporting through file / database / service adapters, feedback, inbound data, sharing partners, the change feed and bulk exports."""
