"""The agent marketplace: listings, operator approval, subscriptions, entitlement."""
