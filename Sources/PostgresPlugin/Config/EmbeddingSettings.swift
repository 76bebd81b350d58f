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
    static func read(_ reader: inout ConfigReader) -> EmbeddingSettings? {
        reader.readObject("embeddings", required: ["tables"], "Destination: pgvector embeddings. For each listed table, a <table>_embeddings table holds its text split into chunks, each with its vector from an OpenAI-compatible embeddings endpoint, the row's key and chosen metadata columns; kept in step with the table in the same transaction.") { nested in
            EmbeddingSettings(&nested)
        }
    }

    private static let tableSetting = Setting<String?>.string("table", minLength: 1, "The stream (table) name, or schema.name.")
    private static let embedColumnsSetting = Setting<[String]>.strings("embed_columns", "Text columns to embed, joined by newlines.")
    private static let metadataColumnsSetting = Setting<[String]>.strings("metadata_columns", "Columns copied into each chunk's row.")
    private static let chunkSizeSetting = Setting<Int>.integer(
        "chunk_size", default: 1000, range: 1...1_000_000, "Longest chunk in characters (recursive split on paragraphs, lines, words).")
    private static let chunkOverlapSetting = Setting<Int>.integer(
        "chunk_overlap", default: 100, range: 0...999_999, "Characters shared by consecutive chunks.")
    private static let baseURLSetting = Setting<String>.string(
        "base_url", default: "https://api.openai.com/v1",
        "OpenAI-compatible API base URL (OpenAI, Azure-compatible gateways, Ollama, vLLM, LocalAI); requests go to {base_url}/embeddings.")
    private static let apiKeySetting = Setting<String?>.string(
        "api_key", secret: true, "API key, sent as a Bearer token. Prefer ${ENV_VAR} expansion.")
    private static let modelSetting = Setting<String>.string("model", default: "text-embedding-3-small", "Embedding model name.")
    private static let dimensionsSetting = Setting<Int>.integer(
        "dimensions", default: 1536, range: 1...16_000,
        "Vector length (text-embedding-3-small: 1536, -large: 3072); the column is vector(dimensions).")
    private static let batchSizeSetting = Setting<Int>.integer(
        "batch_size", default: 100, range: 1...2048, "Texts per embeddings request.")
    private static let timeoutSetting = Setting<Double>.duration("timeout", default: 60, "Longest one embeddings request may take.")

    private init(_ nested: inout ConfigReader) {
        tables = nested.readObjects("tables", required: ["table", "embed_columns"],
                                    "The tables to embed: [{table, embed_columns, metadata_columns}].") { entry in
            let table = entry.readRequired(Self.tableSetting)
            let embed = entry.read(Self.embedColumnsSetting)
            let metadata = entry.read(Self.metadataColumnsSetting)
            if embed.isEmpty { entry.problem("embed_columns", "give at least one text column") as Void? }
            return table.map { Table(table: $0, embedColumns: embed, metadataColumns: metadata) }
        }
        if tables.isEmpty, !nested.has("tables") || nested.problems.isEmpty {
            nested.problem("tables", "give at least one table: [{table, embed_columns, metadata_columns}]") as Void?
        }
        chunkSize = nested.read(Self.chunkSizeSetting)
        chunkOverlap = nested.read(Self.chunkOverlapSetting)
        if chunkOverlap >= chunkSize { nested.problem("chunk_overlap", "must be smaller than chunk_size") as Void? }
        baseURL = nested.read(Self.baseURLSetting)
        apiKey = nested.read(Self.apiKeySetting) ?? ""
        model = nested.read(Self.modelSetting)
        dimensions = nested.read(Self.dimensionsSetting)
        batchSize = nested.read(Self.batchSizeSetting)
        timeout = nested.read(Self.timeoutSetting)
    }

    /// The entry for `stream`, matched by `schema.name` or by name.
    func table(for stream: StreamID) -> Table? {
        tables.first { $0.table.isExactly(stream.description) } ?? tables.first { $0.table.isExactly(stream.name) }
    }
}
