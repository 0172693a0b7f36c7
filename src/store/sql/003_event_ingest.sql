-- filled in by the event-ingestion work (issue #4)
SELECT 1;
