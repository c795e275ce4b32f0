-- SPDX-License-Identifier: ISC
-- 005_backend_names.sql: schema version 5 of the scepd store (src/store.c):
-- `backend` of a waiting request now holds the NAME of the CA backend that
-- has it ("default" for the backend group, or a backends entry's name, which
-- profiles choose with profiles.backend) instead of its type. Before this
-- version there was only the backend group, so every request a backend held
-- was the default backend's.
UPDATE requests SET backend = 'default' WHERE backend IS NOT NULL;
