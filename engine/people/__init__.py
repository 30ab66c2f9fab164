"""People: users and their roles, departments and teams, and the names shown for them."""
