import PostgresClient
import SluiceWire

/// What change data capture needs from the server, each verified with the statement or setting
/// that fixes it: `wal_level=logical`, the REPLICATION privilege, a free slot and WAL sender, the
/// publication of the streamed tables, and a replica identity for each. Check reports every
/// finding; a CDC read stops at the first failed one.
struct ReplicationPrerequisites {
    let connection: PostgresConnection
    let slot: String
    let publication: String

    /// One verified prerequisite.
    struct Finding: Sendable, Equatable {
        var name: String
        var passed: Bool
        var code: String
        var message: String
    }

    /// Every finding for `tables`, in a fixed order.
    func all(tables: [SourceTable]) async throws -> [Finding] {
        [try await walLevel(), try await replicationPrivilege(), try await capacity(),
         try await publicationFinding(tables: tables), try await replicaIdentities(tables: tables)]
    }

    /// `cdc_wal_level`: the server writes logical decoding information.
    func walLevel() async throws -> Finding {
        let level = try await connection.execute("SELECT current_setting('wal_level')").rows.first?.first ?? nil
        if level == "logical" {
            return Finding(name: "cdc_wal_level", passed: true, code: "OK", message: "wal_level is logical")
        }
        return Finding(name: "cdc_wal_level", passed: false, code: "WAL_LEVEL",
                       message: "wal_level is \(level ?? "unknown"), change data capture needs logical; fix: ALTER SYSTEM SET wal_level = logical; then restart the server (on a managed service, set its logical replication parameter)")
    }

    /// `cdc_replication_privilege`: the role may open replication connections.
    func replicationPrivilege() async throws -> Finding {
        let row = try await connection.execute("""
            SELECT current_user, r.rolreplication OR r.rolsuper
                   OR EXISTS (SELECT 1 FROM pg_roles g WHERE g.rolname = 'rds_replication' AND pg_has_role(r.oid, g.oid, 'MEMBER'))
            FROM pg_roles r WHERE r.rolname = current_user
            """).rows.first ?? []
        let user = (row.first ?? nil) ?? ""
        if row.count == 2, row[1] == "t" {
            return Finding(name: "cdc_replication_privilege", passed: true, code: "OK", message: "the role \(user) may replicate")
        }
        return Finding(name: "cdc_replication_privilege", passed: false, code: "PERMISSION_DENIED",
                       message: "the role \(user) has no REPLICATION privilege; fix: ALTER ROLE \(SQL.quoteIdentifier(user)) WITH REPLICATION; (on Amazon RDS: GRANT rds_replication TO \(SQL.quoteIdentifier(user));)")
    }

    /// `cdc_capacity`: a replication slot (unless this one exists) and a WAL sender are free;
    /// notes an unlimited `max_slot_wal_keep_size`.
    func capacity() async throws -> Finding {
        let row = try await connection.execute("""
            SELECT current_setting('max_replication_slots')::int, (SELECT count(*) FROM pg_replication_slots)::int,
                   EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1),
                   current_setting('max_wal_senders')::int,
                   (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender')::int,
                   coalesce(current_setting('max_slot_wal_keep_size', true), '-1')
            """, [.text(slot)]).rows.first ?? []
        guard row.count == 6, let slots = Int(row[0] ?? ""), let used = Int(row[1] ?? ""),
              let senders = Int(row[3] ?? ""), let busy = Int(row[4] ?? "") else {
            return Finding(name: "cdc_capacity", passed: false, code: "CHECK_FAILED", message: "could not read the replication settings")
        }
        let exists = row[2] == "t"
        var problems: [String] = []
        if !exists && used >= slots {
            problems.append("all \(slots) replication slots are in use; fix: raise max_replication_slots (restart needed) or drop an unused slot with SELECT pg_drop_replication_slot('name')")
        }
        if busy >= senders {
            problems.append("all \(senders) WAL senders are busy; fix: raise max_wal_senders (restart needed)")
        }
        guard problems.isEmpty else {
            return Finding(name: "cdc_capacity", passed: false, code: "NO_CAPACITY", message: problems.joined(separator: "\n"))
        }
        var message = "replication slots: \(used) of \(slots) in use\(exists ? " (the slot \(slot) exists)" : ""); WAL senders: \(busy) of \(senders) busy"
        if row[5] == "-1" {
            message += "; max_slot_wal_keep_size is unlimited: a slot left behind keeps WAL until the disk fills (consider setting it, and drop the slot when the pipeline is retired)"
        }
        return Finding(name: "cdc_capacity", passed: true, code: "OK", message: message)
    }

    /// `cdc_publication`: the publication exists and covers `tables`, or this role may create
    /// or extend it (the source then does so on its first CDC read).
    func publicationFinding(tables: [SourceTable]) async throws -> Finding {
        let plan = try await publicationPlan(tables: tables)
        switch plan {
        case .ready:
            return Finding(name: "cdc_publication", passed: true, code: "OK", message: "the publication \(publication) covers every table")
        case .create(let sql, allowed: true), .add(let sql, allowed: true):
            return Finding(name: "cdc_publication", passed: true, code: "OK",
                           message: "the source will run on its first CDC read: \(sql)")
        case .create(let sql, allowed: false):
            return Finding(name: "cdc_publication", passed: false, code: "PUBLICATION_MISSING",
                           message: "the publication \(publication) does not exist and this role may not create it; fix (as a table owner or superuser): \(sql)")
        case .add(let sql, allowed: false):
            return Finding(name: "cdc_publication", passed: false, code: "PUBLICATION_INCOMPLETE",
                           message: "the publication \(publication) lacks tables (or publish_via_partition_root) and this role may not change it; fix (as its owner): \(sql)")
        }
    }

    /// What the publication needs.
    enum PublicationPlan: Equatable {
        /// It exists and publishes every table.
        case ready
        /// It must be created with `sql`; `allowed` says whether this role may.
        case create(String, allowed: Bool)
        /// Tables must be added with `sql`.
        case add(String, allowed: Bool)
    }

    /// What the publication needs for `tables`.
    func publicationPlan(tables: [SourceTable]) async throws -> PublicationPlan {
        let names = tables.map { SQL.quoteQualified(schema: $0.schema, name: $0.name) }
        let oids = "{" + tables.map { String($0.oid) }.joined(separator: ",") + "}"
        let row = try await connection.execute("""
            SELECT p.oid IS NOT NULL, coalesce(p.puballtables, false),
                   coalesce(pg_has_role(p.pubowner, 'USAGE'), false),
                   (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
                   has_database_privilege(current_database(), 'CREATE'),
                   (SELECT coalesce(bool_and(pg_has_role(c.relowner, 'USAGE')), true) FROM pg_class c WHERE c.oid = ANY($2::oid[])),
                   (SELECT coalesce(string_agg(c.oid::text, ','), '') FROM pg_class c WHERE c.oid = ANY($2::oid[])
                      AND NOT EXISTS (SELECT 1 FROM pg_publication_rel r WHERE r.prpubid = p.oid AND r.prrelid = c.oid)
                      AND NOT EXISTS (SELECT 1 FROM pg_publication_namespace s WHERE s.pnpubid = p.oid AND s.pnnspid = c.relnamespace)),
                   coalesce(p.pubviaroot, true)
            FROM (SELECT 1) one LEFT JOIN pg_publication p ON p.pubname = $1
            """, [.text(publication), .text(oids)]).rows.first ?? []
        guard row.count == 8 else { return .create("CREATE PUBLICATION \(SQL.quoteIdentifier(publication)) FOR TABLE \(names.joined(separator: ", "))", allowed: false) }
        let superuser = row[3] == "t"
        let ownsTables = row[5] == "t"
        guard row[0] == "t" else {
            let with = connection.serverVersionNumber >= 130_000 ? " WITH (publish_via_partition_root = true)" : ""
            let sql = "CREATE PUBLICATION \(SQL.quoteIdentifier(publication)) FOR TABLE \(names.joined(separator: ", "))\(with);"
            return .create(sql, allowed: superuser || (row[4] == "t" && ownsTables))
        }
        let allowed = superuser || (row[2] == "t" && ownsTables)
        if row[7] == "f", tables.contains(where: { $0.relkind == "p" }) {
            // Otherwise a partitioned table's changes arrive under each partition, not its stream.
            return .add("ALTER PUBLICATION \(SQL.quoteIdentifier(publication)) SET (publish_via_partition_root = true);", allowed: allowed)
        }
        if row[1] == "t" { return .ready }
        let missing = Set((row[6] ?? "").split(separator: ",").compactMap { UInt32($0) })
        if missing.isEmpty { return .ready }
        let lacking = tables.filter { missing.contains($0.oid) }.map { SQL.quoteQualified(schema: $0.schema, name: $0.name) }
        let sql = "ALTER PUBLICATION \(SQL.quoteIdentifier(publication)) ADD TABLE \(lacking.joined(separator: ", "));"
        return .add(sql, allowed: allowed)
    }

    /// Creates or extends the publication as `publicationPlan` says; throws with the statement
    /// to run when this role may not.
    func ensurePublication(tables: [SourceTable]) async throws {
        // At most: create it, or set publish_via_partition_root then add tables.
        for _ in 0 ..< 3 {
            switch try await publicationPlan(tables: tables) {
            case .ready:
                return
            case .create(let sql, true), .add(let sql, true):
                _ = try await connection.executeScript(sql)
            case .create, .add:
                let finding = try await publicationFinding(tables: tables)
                throw PluginError(category: .config, code: finding.code, message: finding.message)
            }
        }
    }

    /// `cdc_replica_identity`: every table (and every partition of a partitioned one) identifies
    /// its rows in the WAL: a primary key, REPLICA IDENTITY FULL or USING INDEX.
    func replicaIdentities(tables: [SourceTable]) async throws -> Finding {
        var problems: [String] = []
        for table in tables where !["r", "p"].contains(table.relkind) {
            problems.append("\(table.stream) is a \(table.kindName): only tables can be streamed by change data capture; read it with full_refresh")
        }
        let oids = "{" + tables.filter { ["r", "p"].contains($0.relkind) }.map { String($0.oid) }.joined(separator: ",") + "}"
        let rows = try await connection.execute("""
            SELECT n.nspname, c.relname, c.relreplident,
                   EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'r' AND (c.oid = ANY($1::oid[])
               OR c.oid IN (SELECT t.relid FROM unnest($1::oid[]) r(oid), pg_partition_tree(r.oid) t WHERE t.isleaf))
            ORDER BY 1, 2
            """, [.text(oids)]).rows
        for row in rows {
            guard row.count == 4, let schema = row[0], let name = row[1] else { continue }
            let qualified = SQL.quoteQualified(schema: schema, name: name)
            switch row[2] {
            case "f", "i": continue
            case "d" where row[3] == "t": continue
            case "n":
                problems.append("\(schema).\(name) has REPLICA IDENTITY NOTHING, so its updates and deletes cannot be streamed; fix: ALTER TABLE \(qualified) REPLICA IDENTITY DEFAULT; (with a primary key) or REPLICA IDENTITY FULL;")
            default:
                problems.append("\(schema).\(name) has no primary key, so its updates and deletes cannot be streamed; fix: add a primary key, or ALTER TABLE \(qualified) REPLICA IDENTITY FULL; (or USING INDEX a unique index on NOT NULL columns)")
            }
        }
        guard problems.isEmpty else {
            return Finding(name: "cdc_replica_identity", passed: false, code: "NO_REPLICA_IDENTITY", message: problems.joined(separator: "\n"))
        }
        return Finding(name: "cdc_replica_identity", passed: true, code: "OK", message: "every table identifies its rows (primary key or replica identity)")
    }
}
