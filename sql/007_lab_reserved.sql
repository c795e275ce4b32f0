-- SPDX-License-Identifier: ISC
-- 007_lab_reserved.sql: schema version 7 of the scepd store, held for the lab
-- rules of issue 15 (branch lab-rules owns 007). On this branch alone it
-- changes nothing, so that 008 follows in sequence; when lab-rules' 007 is
-- merged, this file goes and theirs takes its number.
SELECT 1;
