"""The decision point: may this agent do this, now?"""
