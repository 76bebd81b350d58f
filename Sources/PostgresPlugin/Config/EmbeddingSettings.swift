import SluiceWire

/// `embeddings`: for chosen destination tables, a `<table>_embeddings` pgvector table of their
/// text split into chunks and embedded by an OpenAI-compatible endpoint (CloudQuery's
/// `pgvector_config`).
struct EmbeddingSettings: Sendable {
    /// One table to embed.
    struct Table: Sendable {
        /// The stream's name, or `schema.name`.
        var table: String
        /// Text columns whose values (joined by newlines) are embedded.
        var embedColumns: [String]
        /// Columns copied as they are into each chunk's row, for filtering next to the vector.
        var metadataColumns: [String]
    }

    var tables: [Table]
    /// Longest chunk, in characters.
    var chunkSize: Int
    /// Characters shared by consecutive chunks of one text.
    var chunkOverlap: Int
    /// The endpoint's base URL; requests go to `{base_url}/embeddings`.
    var baseURL: String
    var apiKey: String
    var model: String
    /// The vectors' length, the `vector(n)` column's n.
    var dimensions: Int
    /// Texts per request.
    var batchSize: Int
    /// Seconds one request may take.
    var timeout: Double

    /// The settings of `embeddings`, or nil when it is absent.
    init?(_ reader: inout ConfigReader) {
        guard var nested = reader.object("embeddings") else { return nil }
        defer { reader.merge(nested) }
        var tables: [Table] = []
        if case .array(let items)? = nested.raw("tables"), !items.isEmpty {
            for (index, item) in items.enumerated() {
                guard case .object(let object) = item else {
                    nested.problem("tables[\(index)]", "expected an object") as Void?
                    continue
                }
                var entry = ConfigReader(object: object, path: "$.embeddings.tables[\(index)]")
                let table = entry.string("table")
                let embed = entry.stringArray("embed_columns")
                let metadata = entry.stringArray("metadata_columns")
                for key in entry.keys.sorted() where !["table", "embed_columns", "metadata_columns"].contains(key) {
                    entry.problem(key, "unknown setting") as Void?
                }
                if table == nil { entry.problem("table", "required") as Void? }
                if embed.isEmpty { entry.problem("embed_columns", "give at least one text column") as Void? }
                nested.merge(entry)
                if let table { tables.append(Table(table: table, embedColumns: embed, metadataColumns: metadata)) }
            }
        } else {
            nested.problem("tables", "give at least one table: [{table, embed_columns, metadata_columns}]") as Void?
        }
        self.tables = tables
        chunkSize = nested.integer("chunk_size", default: 1000, range: 1...1_000_000)
        chunkOverlap = nested.integer("chunk_overlap", default: 100, range: 0...999_999)
        if chunkOverlap >= chunkSize { nested.problem("chunk_overlap", "must be smaller than chunk_size") as Void? }
        baseURL = nested.string("base_url", default: "https://api.openai.com/v1")
        apiKey = nested.string("api_key", default: "")
        model = nested.string("model", default: "text-embedding-3-small")
        dimensions = nested.integer("dimensions", default: 1536, range: 1...16_000)
        batchSize = nested.integer("batch_size", default: 100, range: 1...2048)
        timeout = nested.duration("timeout", default: 60)
        let known: Set = ["tables", "chunk_size", "chunk_overlap", "base_url", "api_key", "model", "dimensions", "batch_size", "timeout"]
        for key in nested.keys.sorted() where !known.contains(key) {
            nested.problem(key, "unknown setting") as Void?
        }
    }

    /// The entry for `stream`, matched by `schema.name` or by name.
    func table(for stream: StreamID) -> Table? {
        tables.first { $0.table.isExactly(stream.description) } ?? tables.first { $0.table.isExactly(stream.name) }
    }

    static var schemaProperties: [String: Any] {
        [
            "embeddings": [
                "type": "object",
                "description": "Destination: pgvector embeddings. For each listed table, a <table>_embeddings table holds its text split into chunks, each with its vector from an OpenAI-compatible embeddings endpoint, the row's key and chosen metadata columns; kept in step with the table in the same transaction.",
                "required": ["tables"],
                "additionalProperties": false,
                "properties": [
                    "tables": [
                        "type": "array",
                        "items": [
                            "type": "object", "required": ["table", "embed_columns"], "additionalProperties": false,
                            "properties": [
                                "table": ["type": "string", "description": "The stream (table) name, or schema.name."],
                                "embed_columns": ["type": "array", "items": ["type": "string"], "description": "Text columns to embed, joined by newlines."],
                                "metadata_columns": ["type": "array", "items": ["type": "string"], "description": "Columns copied into each chunk's row."],
                            ],
                        ],
                    ],
                    "chunk_size": ["type": "integer", "minimum": 1, "default": 1000, "description": "Longest chunk in characters (recursive split on paragraphs, lines, words)."],
                    "chunk_overlap": ["type": "integer", "minimum": 0, "default": 100, "description": "Characters shared by consecutive chunks."],
                    "base_url": ["type": "string", "default": "https://api.openai.com/v1", "description": "OpenAI-compatible API base URL (OpenAI, Azure-compatible gateways, Ollama, vLLM, LocalAI); requests go to {base_url}/embeddings."],
                    "api_key": ["type": "string", "secret": true, "writeOnly": true, "description": "API key, sent as a Bearer token. Prefer ${ENV_VAR} expansion."],
                    "model": ["type": "string", "default": "text-embedding-3-small", "description": "Embedding model name."],
                    "dimensions": ["type": "integer", "minimum": 1, "default": 1536, "description": "Vector length (text-embedding-3-small: 1536, -large: 3072); the column is vector(dimensions)."],
                    "batch_size": ["type": "integer", "minimum": 1, "maximum": 2048, "default": 100, "description": "Texts per embeddings request."],
                    "timeout": ["type": ["string", "number"], "default": "60s", "description": "Longest one embeddings request may take."],
                ],
            ],
        ]
    }
}
