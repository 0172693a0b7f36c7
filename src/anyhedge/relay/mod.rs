//! Oracle relays: fetching signed price messages.
