-- demo-database.sql: a legacy-style customer database for storygate's demo, tests and
-- benchmarks. Run it against an empty database:
--
--   psql -v ON_ERROR_STOP=1 -v customers=5000 -f scripts/demo-database.sql "$DATABASE_URL"
--
-- It drops and recreates the schema "legacy" (so it can be run again), fills it with
-- deterministic data (every value is a hash of the row number: two runs with the same
-- `customers` give identical rows), indexes it, and creates the read-only role
-- storygate_reader. `customers` defaults to 5000; 1000000 is the benchmark size.
--
-- What makes it "legacy": column names that are not DailyStory's (fname, st, cell_phone,
-- last_chg_ts...), wall-clock timestamps without time zone (America/Chicago local time,
-- across several DST changes, including the repeated 01:00-02:00 hour in November),
-- customer numbers that are not contiguous, inconsistent phone and e-mail formats,
-- NULLs, a category value with a trailing space, and a batch job that stamped many
-- rows with exactly the same last_chg_ts (so paging must break ties on the id).
--
-- Customer 244988 is DailyStory's example record: Amanda Grover, Seattle, 322 points,
-- 65 orders worth 4118.01 from 2021-01-23 16:33:37 to 2021-10-06 13:01:27 (last one
-- 30.68), categories 'Beauty ' and 'Health'. The script checks this at the end.

\set ON_ERROR_STOP on
\if :{?customers}
\else
\set customers 5000
\endif

SET client_min_messages = warning;
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';
SET work_mem = '64MB';
SET TimeZone = 'UTC';  -- nothing below depends on it; set for reproducibility

SELECT set_config('demo.customers', :'customers', false) AS customers \gset
DO $$
BEGIN
    IF current_setting('demo.customers') !~ '^[0-9]{1,8}$'
       OR current_setting('demo.customers')::int NOT BETWEEN 1 AND 10000000 THEN
        RAISE EXCEPTION 'customers must be an integer in 1..10000000, got "%"',
            current_setting('demo.customers');
    END IF;
END
$$;

-- The read-only role storygate connects as (no password: the demo cluster trusts local
-- connections). It may read the legacy schema and nothing else. Roles belong to the
-- whole cluster: this is done in a short transaction of its own, and tolerates another
-- session (a parallel test loading another database) creating the role at the same time.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'storygate_reader') THEN
        BEGIN
            CREATE ROLE storygate_reader LOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by another session
        END;
    ELSIF EXISTS (SELECT FROM pg_roles WHERE rolname = 'storygate_reader'
                     AND (NOT rolcanlogin OR rolsuper OR rolcreatedb OR rolcreaterole
                          OR rolreplication OR rolbypassrls)) THEN
        ALTER ROLE storygate_reader LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
            NOREPLICATION NOBYPASSRLS;
    END IF;
END
$$;

BEGIN;

-- Deterministic "random" numbers: u(n, salt) is uniform in [0, 1), a hash of (n, salt).
-- Inlinable SQL functions in pg_temp, gone when the session ends. The bodies are
-- quoted, not SQL-standard (RETURN ...), which PostgreSQL reads only from 14 on.
SELECT current_setting('server_version_num')::int >= 110000 AS has_hashint8extended \gset
\if :has_hashint8extended
CREATE FUNCTION pg_temp.u(n bigint, salt bigint) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ((hashint8extended(n, salt) >> 11) & 9007199254740991)::double precision
                 / 9007199254740992.0 $$;
\else
-- PostgreSQL 10 has no hashint8extended: 52 bits of an md5 instead. Just as
-- deterministic, but other numbers, so a demo database made on 10 has other rows.
CREATE FUNCTION pg_temp.u(n bigint, salt bigint) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ('x' || substr(md5(n::text || ':' || salt::text), 1, 13))::bit(52)::bigint::double precision
                 / 4503599627370496.0 $$;
\endif
-- pick(n, salt, k): an integer in 0..k-1.
CREATE FUNCTION pg_temp.pick(n bigint, salt bigint, k int) RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT floor(pg_temp.u(n, salt) * k)::int $$;

DROP SCHEMA IF EXISTS legacy CASCADE;
CREATE SCHEMA legacy;
COMMENT ON SCHEMA legacy IS 'Demo legacy customer database (scripts/demo-database.sql)';

-- Tables are created without keys; keys and indexes are added after loading (faster).
CREATE TABLE legacy.cust_master (
    cust_no      integer     NOT NULL,
    fname        varchar(40),
    lname        varchar(40),
    email_addr   varchar(120),
    cell_phone   varchar(20),
    city         varchar(60),
    st           varchar(40),
    country_cd   char(2),
    addr1        varchar(120),
    zip_cd       varchar(10),
    birth_dt     date,
    loyalty_pts  integer,
    sms_ok       boolean,
    email_ok     boolean,
    home_store   integer,
    created_ts   timestamp without time zone,
    last_chg_ts  timestamp without time zone NOT NULL
);
COMMENT ON TABLE legacy.cust_master IS 'Customer master; one row per customer';
COMMENT ON COLUMN legacy.cust_master.last_chg_ts IS 'Last change, America/Chicago wall clock';

CREATE TABLE legacy.order_hdr (
    order_no     bigint      NOT NULL,
    cust_no      integer,
    order_ts     timestamp without time zone,
    order_total  numeric(12,2),
    ship_ts      timestamp without time zone
);
COMMENT ON TABLE legacy.order_hdr IS 'Order headers; times are America/Chicago wall clock';

CREATE TABLE legacy.cust_category (
    cust_no      integer     NOT NULL,
    category_nm  varchar(40) NOT NULL
);
COMMENT ON TABLE legacy.cust_category IS 'Product categories a customer is interested in';

-- Customers. cust_no = 244988, 244995, 245002, ... (step 7), so 244988 is the first one.
-- Times are drawn uniformly in real time and converted to Chicago wall clock, so they
-- never fall in the skipped spring-forward hour, and the repeated November hour occurs.
INSERT INTO legacy.cust_master
SELECT cust_no, fname, lname,
       CASE WHEN email_kind < 0.08 THEN NULL
            WHEN email_kind < 0.48 THEN fname || '.' || replace(lname, ' ', '') || '@example.com'
            WHEN email_kind < 0.88 THEN lower(left(fname, 1) || replace(lname, ' ', '')) || (n % 97)
                                        || (ARRAY['@example.net', '@example.org'])[1 + pg_temp.pick(n, 12, 2)]
            ELSE upper(fname || '_' || replace(lname, ' ', '')) || '@EXAMPLE.COM'
       END,
       CASE WHEN phone_kind < 0.12 THEN NULL
            WHEN phone_kind < 0.85 THEN format('(555) %s-%s', exch, line)
            WHEN phone_kind < 0.95 THEN format('555-%s-%s', exch, line)
            ELSE format('555.%s.%s', exch, line)
       END,
       city, st, country_cd,
       CASE WHEN has_addr THEN addr END,
       CASE WHEN NOT has_addr OR pg_temp.u(n, 13) < 0.05 THEN NULL
            WHEN country_cd = 'CA'
                 THEN format('%s%s%s %s%s%s',
                             substr('ABCEGHJKLMNPRSTVXY', 1 + pg_temp.pick(n, 14, 18), 1),
                             pg_temp.pick(n, 15, 10),
                             substr('ABCEGHJKLMNPRSTVWXYZ', 1 + pg_temp.pick(n, 16, 20), 1),
                             pg_temp.pick(n, 17, 10),
                             substr('ABCEGHJKLMNPRSTVWXYZ', 1 + pg_temp.pick(n, 18, 20), 1),
                             pg_temp.pick(n, 19, 10))
            ELSE lpad((1001 + pg_temp.pick(n, 20, 98900))::text, 5, '0')
       END,
       CASE WHEN pg_temp.u(n, 21) < 0.30 THEN NULL
            ELSE date '1945-01-01' + pg_temp.pick(n, 22, 365 * 60) END,
       floor(5000 * pg_temp.u(n, 23) ^ 2)::int,
       pg_temp.u(n, 24) < 0.55,
       pg_temp.u(n, 25) < 0.70,
       CASE WHEN pg_temp.u(n, 26) < 0.03 THEN NULL ELSE 500 + pg_temp.pick(n, 27, 150) END,
       created_ts,
       CASE WHEN pg_temp.u(n, 28) < 0.03
                 AND batch_ts >= created_ts THEN batch_ts     -- nightly batch job: ties
            ELSE ((greatest(created, timestamptz '2021-01-01 00:00:00 America/Chicago')
                   + pg_temp.u(n, 29)
                     * (timestamptz '2024-06-30 23:59:59 America/Chicago'
                        - greatest(created, timestamptz '2021-01-01 00:00:00 America/Chicago')))
                  AT TIME ZONE 'America/Chicago')::timestamp(0)
       END
FROM (
    SELECT n, 244988 + (n - 1) * 7 AS cust_no, fname, lname, email_kind, phone_kind,
           lpad((200 + pg_temp.pick(n, 5, 800))::text, 3, '0') AS exch,
           lpad(pg_temp.pick(n, 6, 10000)::text, 4, '0') AS line,
           city, st, country_cd,
           pg_temp.u(n, 7) >= 0.15 AS has_addr,
           (100 + pg_temp.pick(n, 8, 9900))::text || ' '
               || (ARRAY['Main', 'Oak', 'Maple', 'Cedar', 'Pine', 'Elm', 'Lake', 'Hill',
                         'Washington', 'Park', 'Sunset', 'Highland', 'Forest', 'River',
                         'Church', 'Mill', 'Spring', 'Meadow'])[1 + pg_temp.pick(n, 9, 18)]
               || (ARRAY[' St', ' Ave', ' Rd', ' Blvd', ' Dr', ' Ln', ' Ct', ' Way'])[1 + pg_temp.pick(n, 10, 8)]
               || CASE WHEN pg_temp.u(n, 11) < 0.12
                       THEN ' Apt ' || (1 + pg_temp.pick(n, 30, 40)) ELSE '' END AS addr,
           created, (created AT TIME ZONE 'America/Chicago')::timestamp(0) AS created_ts,
           (ARRAY['2021-06-01 02:00:00', '2021-11-07 01:30:00', '2022-03-01 02:00:00',
                  '2022-11-06 01:15:00', '2023-01-15 02:00:00', '2023-07-04 00:00:00',
                  '2024-01-02 02:00:00', '2024-06-15 02:00:00']::timestamp[])[1 + pg_temp.pick(n, 31, 8)]
               AS batch_ts
    FROM (
        SELECT n,
               (ARRAY['James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael',
                      'Linda', 'David', 'Elizabeth', 'William', 'Barbara', 'Richard', 'Susan',
                      'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Charles', 'Karen', 'Daniel',
                      'Lisa', 'Matthew', 'Nancy', 'Anthony', 'Betty', 'Mark', 'Sandra',
                      'Steven', 'Ashley', 'Paul', 'Emily', 'Andrew', 'Donna', 'Joshua',
                      'Michelle', 'Kevin', 'Amanda', 'Brian', 'Melissa', 'José', 'Zoë',
                      'Chloé', 'Renée', 'Björn', 'Siobhan', 'Mei', 'Aditya'])[1 + pg_temp.pick(n, 1, 48)] AS fname,
               (ARRAY['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller',
                      'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Gonzalez',
                      'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin',
                      'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark',
                      'Ramirez', 'Lewis', 'Robinson', 'Walker', 'Young', 'Allen', 'King',
                      'Wright', 'Scott', 'Grover', 'O''Brien', 'McDonald', 'Nguyen',
                      'Tremblay', 'Gagnon', 'Müller', 'Van der Berg'])[1 + pg_temp.pick(n, 2, 44)] AS lname,
               pg_temp.u(n, 3) AS email_kind,
               pg_temp.u(n, 4) AS phone_kind,
               CASE WHEN is_ca
                    THEN (ARRAY['Toronto', 'Vancouver', 'Montréal', 'Calgary', 'Ottawa', 'Winnipeg'])[1 + city_i % 6]
                    ELSE (ARRAY['Seattle', 'Spokane', 'Portland', 'Chicago', 'Naperville', 'Houston',
                                'Austin', 'Dallas', 'Denver', 'Phoenix', 'Minneapolis', 'St. Louis',
                                'Kansas City', 'Milwaukee', 'Madison', 'Des Moines', 'Omaha',
                                'Nashville', 'Atlanta', 'Miami', 'Orlando', 'Boston', 'New York',
                                'Brooklyn', 'Philadelphia', 'Pittsburgh', 'Columbus', 'Detroit',
                                'Los Angeles', 'San Diego', 'San Francisco', 'Sacramento',
                                'Salt Lake City', 'Boise', 'Albuquerque', 'New Orleans'])[1 + city_i % 36]
               END AS city,
               CASE WHEN is_ca
                    THEN (ARRAY['Ontario', 'British Columbia', 'Quebec', 'Alberta', 'Ontario', 'Manitoba'])[1 + city_i % 6]
                    ELSE (ARRAY['Washington', 'Washington', 'Oregon', 'Illinois', 'Illinois', 'Texas',
                                'Texas', 'Texas', 'Colorado', 'Arizona', 'Minnesota', 'Missouri',
                                'Missouri', 'Wisconsin', 'Wisconsin', 'Iowa', 'Nebraska',
                                'Tennessee', 'Georgia', 'Florida', 'Florida', 'Massachusetts', 'New York',
                                'New York', 'Pennsylvania', 'Pennsylvania', 'Ohio', 'Michigan',
                                'California', 'California', 'California', 'California',
                                'Utah', 'Idaho', 'New Mexico', 'Louisiana'])[1 + city_i % 36]
               END AS st,
               CASE WHEN is_ca THEN 'CA' ELSE 'US' END AS country_cd,
               timestamptz '2015-01-01 00:00:00 America/Chicago'
                   + pg_temp.u(n, 32) * (timestamptz '2024-06-01 00:00:00 America/Chicago'
                                         - timestamptz '2015-01-01 00:00:00 America/Chicago') AS created
        FROM (SELECT n, pg_temp.u(n, 33) < 0.08 AS is_ca, pg_temp.pick(n, 34, 720) AS city_i
              FROM generate_series(1, :customers) AS n) g
    ) named
) c;

-- The example customer.
UPDATE legacy.cust_master
   SET fname = 'Amanda', lname = 'Grover', email_addr = 'Amanda.Grover@example.com',
       cell_phone = '555-372-8048', city = 'Seattle', st = 'Washington', country_cd = 'US',
       addr1 = NULL, zip_cd = NULL, birth_dt = NULL, loyalty_pts = 322,
       sms_ok = true, email_ok = false, home_store = 598,
       created_ts = '2020-11-27 10:42:18', last_chg_ts = '2022-03-01 02:00:00'
 WHERE cust_no = 244988;

-- The example customer's 65 orders: first 2021-01-23 16:33:37, last 2021-10-06 13:01:27
-- (30.68), spread between them; the first order's amount makes the total exactly 4118.01.
INSERT INTO legacy.order_hdr
SELECT 244988000 + i,
       244988,
       CASE i WHEN 1 THEN timestamp '2021-01-23 16:33:37'
              WHEN 65 THEN timestamp '2021-10-06 13:01:27'
              ELSE ((timestamptz '2021-01-23 16:33:37 America/Chicago'
                     + (i - 1) * (timestamptz '2021-10-06 13:01:27 America/Chicago'
                                  - timestamptz '2021-01-23 16:33:37 America/Chicago') / 64
                     + interval '1 second' * (pg_temp.pick(i, 47, 86400) - 43200))
                    AT TIME ZONE 'America/Chicago')::timestamp(0)
       END,
       CASE WHEN i = 65 THEN 30.68 ELSE round((25 + 75 * pg_temp.u(i, 48))::numeric, 2) END,
       NULL
FROM generate_series(2, 65) AS i;

INSERT INTO legacy.order_hdr
SELECT 244988001, 244988, timestamp '2021-01-23 16:33:37',
       4118.01 - sum(order_total), timestamp '2021-01-25 09:12:40'
FROM legacy.order_hdr WHERE cust_no = 244988;

UPDATE legacy.order_hdr
   SET ship_ts = (((order_ts AT TIME ZONE 'America/Chicago') + interval '2 days 3 hours')
                  AT TIME ZONE 'America/Chicago')::timestamp(0)
 WHERE cust_no = 244988 AND order_no <> 244988001;

-- Orders: 0..20 per customer (10 on average), between sign-up and 2024-06-30.
-- order_no = cust_no * 1000 + sequence number.
INSERT INTO legacy.order_hdr
SELECT cust_no::bigint * 1000 + g,
       cust_no,
       (ts AT TIME ZONE 'America/Chicago')::timestamp(0),
       round((4.99 + 240 * pg_temp.u(k, 41) * pg_temp.u(k, 42) + 20 * pg_temp.u(k, 43))::numeric, 2),
       CASE WHEN pg_temp.u(k, 44) < 0.06
                 OR ts > timestamptz '2024-06-27 00:00:00 America/Chicago' THEN NULL
            ELSE ((ts + interval '1 hour' * (18 + pg_temp.pick(k, 45, 140)))
                  AT TIME ZONE 'America/Chicago')::timestamp(0)
       END
FROM (
    SELECT c.cust_no, g, (c.cust_no::bigint * 1000 + g) AS k,
           (c.created_ts AT TIME ZONE 'America/Chicago')
               + pg_temp.u(c.cust_no::bigint * 1000 + g, 40)
                 * (timestamptz '2024-06-30 23:59:59 America/Chicago'
                    - (c.created_ts AT TIME ZONE 'America/Chicago')) AS ts
    FROM legacy.cust_master c
    CROSS JOIN LATERAL generate_series(1, pg_temp.pick(c.cust_no, 46, 21)) AS g
    WHERE c.cust_no <> 244988
) o;

-- Categories: 0..3 distinct per customer.
INSERT INTO legacy.cust_category
SELECT cust_no,
       (ARRAY['Beauty ', 'Health', 'Outdoors', 'Kitchen', 'Toys', 'Books'])
           [1 + (pg_temp.pick(cust_no, 51, 6) + j * (CASE WHEN pg_temp.u(cust_no, 52) < 0.5 THEN 1 ELSE 5 END)) % 6]
FROM legacy.cust_master
CROSS JOIN LATERAL generate_series(0, pg_temp.pick(cust_no, 50, 4) - 1) AS j
WHERE cust_no <> 244988;

INSERT INTO legacy.cust_category VALUES (244988, 'Beauty '), (244988, 'Health');

-- Keys and indexes, after loading.
ALTER TABLE legacy.cust_master ADD CONSTRAINT cust_master_pkey PRIMARY KEY (cust_no);
ALTER TABLE legacy.order_hdr ADD CONSTRAINT order_hdr_pkey PRIMARY KEY (order_no);
ALTER TABLE legacy.cust_category ADD CONSTRAINT cust_category_pkey PRIMARY KEY (cust_no, category_nm);
ALTER TABLE legacy.order_hdr ADD CONSTRAINT order_hdr_cust_no_fkey
    FOREIGN KEY (cust_no) REFERENCES legacy.cust_master (cust_no);
ALTER TABLE legacy.cust_category ADD CONSTRAINT cust_category_cust_no_fkey
    FOREIGN KEY (cust_no) REFERENCES legacy.cust_master (cust_no);
CREATE INDEX order_hdr_cust_no_order_ts_idx ON legacy.order_hdr (cust_no, order_ts);
CREATE INDEX cust_master_last_chg_ts_cust_no_idx ON legacy.cust_master (last_chg_ts, cust_no);

-- Read access for storygate_reader (created above), to the legacy schema only.
GRANT USAGE ON SCHEMA legacy TO storygate_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA legacy TO storygate_reader;

-- One table per statement: a list of tables is PostgreSQL 11 and later.
ANALYZE legacy.cust_master;
ANALYZE legacy.order_hdr;
ANALYZE legacy.cust_category;

-- Check the example customer.
DO $$
DECLARE
    r record;
BEGIN
    SELECT count(*) AS n, sum(order_total) AS total, min(order_ts) AS first_ts,
           max(order_ts) AS last_ts,
           (SELECT order_total FROM legacy.order_hdr WHERE cust_no = 244988
             ORDER BY order_ts DESC LIMIT 1) AS last_value,
           (SELECT string_agg(category_nm, '|' ORDER BY category_nm)
              FROM legacy.cust_category WHERE cust_no = 244988) AS cats,
           (SELECT count(*) FROM legacy.order_hdr WHERE cust_no = 244988
               AND order_ts = timestamp '2021-10-06 13:01:27') AS n_last,
           (SELECT min(order_total) FROM legacy.order_hdr WHERE cust_no = 244988) AS min_total
      INTO r
      FROM legacy.order_hdr WHERE cust_no = 244988;
    IF r.n <> 65 OR r.total <> 4118.01 OR r.first_ts <> timestamp '2021-01-23 16:33:37'
       OR r.last_ts <> timestamp '2021-10-06 13:01:27' OR r.last_value <> 30.68
       OR r.n_last <> 1 OR r.min_total <= 0 OR r.cats <> 'Beauty |Health' THEN
        RAISE EXCEPTION 'example customer 244988 is wrong: %', r;
    END IF;
END
$$;

COMMIT;

SELECT (SELECT count(*) FROM legacy.cust_master) AS customers,
       (SELECT count(*) FROM legacy.order_hdr) AS orders,
       (SELECT count(*) FROM legacy.cust_category) AS categories;
