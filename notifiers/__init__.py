"""Platform adapters: parse input, call the core, render replies, deliver alerts."""
