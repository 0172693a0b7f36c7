-- filled in by the tx-journal work (issue #4)
SELECT 1;
