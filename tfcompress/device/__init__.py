"""The device half: board profiles, firmware builds, the serial protocol and running on a board."""
