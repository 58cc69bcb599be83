DROP TABLE IF EXISTS entries;
CREATE TABLE entries (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
INSERT INTO entries (title) VALUES ('hello');
