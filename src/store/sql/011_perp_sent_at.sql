-- When the hedge's current order (opening, then closing) was last sent, apart from
-- updated_at: notes and flag refreshes must not move it, or an order whose request was lost
-- would be waited for forever instead of sent again once the venue could no longer take it.
ALTER TABLE perp_hedges ADD COLUMN sent_at INTEGER;
UPDATE perp_hedges SET sent_at = updated_at;
