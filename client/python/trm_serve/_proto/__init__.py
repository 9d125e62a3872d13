"""Generated from proto/ by setup.py at build time; do not edit."""
