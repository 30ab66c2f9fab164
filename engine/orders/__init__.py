"""Work orders and what happens on them: creating, firing events (through the compiled
process's check), feedback, comments, attachments, the boards people work from,
each person's inbox, who may see what, and recurring work.
"""
