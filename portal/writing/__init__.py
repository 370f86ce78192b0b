"""The writer's side of orders: the pool of available work, their assignments and the writing
workspace (Markdown editor with autosave, delivery, release)."""
