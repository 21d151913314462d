"""Cedar policy managed as data: versioned policy sets per tenant and for the platform."""
