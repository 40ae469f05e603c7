"""A local emulator of DLG's SendMessage API and Certainly's Trigger Message API over real HTTP.

It shares no code with the console's wire layer (`messaging/`), so a bug in how the console
builds requests shows up here as a rejection instead of being reproduced on both sides.
"""
