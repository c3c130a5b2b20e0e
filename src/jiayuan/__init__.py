"""Jiayuan (家园): the 平安家园 · 智慧社区 platform for a community office."""
