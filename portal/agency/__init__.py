"""The agency's side: the catalogue (tiers, content types), writers' skills, the dashboard of
every order and the manager's tools on an order."""
