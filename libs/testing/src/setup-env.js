// Loaded before every test file. Quiet third-party warnings that say nothing about Berth.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
process.env.BERTH_LOG_LEVEL = process.env.BERTH_LOG_LEVEL || 'silent';
