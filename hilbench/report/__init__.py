"""Last stage of the pipeline: tables for people, JSON and JUnit for machines."""
