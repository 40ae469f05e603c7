"""Views of the console's own pages; each is thin: parse, call a service, render."""
