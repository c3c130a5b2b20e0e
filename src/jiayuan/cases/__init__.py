"""Cases (事件): alarms and residents' reports as work for a person, from 上报 to 结案, on the record."""
