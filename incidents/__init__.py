"""The domain: pages, components, incidents, maintenance and their history."""
