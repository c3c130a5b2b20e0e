"""Reaching people: a stored outbox of messages and the channels (WeCom, DingTalk, SMS, console) that
deliver them."""
