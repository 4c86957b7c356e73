"""recallbot core: dataset, matching, commands. Knows nothing of chat platforms."""
