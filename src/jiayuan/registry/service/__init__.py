"""Use cases of the registry, one module per group.

`residents` (register, change, show masked, reveal), `resident_search` (search box, full-number search),
`structure` (the tree: communities to households, vehicles, grids, shops), `importing` (Excel import and
export), `stats` (社区底数统计), `directory` (the reads other domains make, without a principal: they check
their own policies) and `devices` (switching a registered device on or off, for the devices domain).
"""
