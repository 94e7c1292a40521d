"""What a run leaves behind besides its steps: screenshots, the recording,
input and output files, and moving them to storage."""
