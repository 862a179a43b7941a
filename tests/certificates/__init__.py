"""The stored certificates of the proved claims, their independent checker and its negative
controls."""
