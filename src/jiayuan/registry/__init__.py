"""社区底数: communities, compounds, buildings, households, residents and what hangs off them."""
