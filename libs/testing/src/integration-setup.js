// Integration tests talk to real servers (a Kafka consumer group join, a Postgres start): give each test
// a generous but finite budget. Every wait inside a test is bounded by its own deadline as well.
jest.setTimeout(120000);
