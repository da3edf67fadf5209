# frozen_string_literal: true

module UcrawlerNative
  # One crawled URL. The data stays in the engine's memory until an accessor asks for it; values
  # are frozen and memoized. Defined natively (url, final_url, status, content_type, title,
  # description, canonical, noindex?, nofollow?, body, depth, bytes, elapsed, fetch_time,
  # parse_time, truncated?, attempts, for recrawls etag, last_modified, content_hash and change,
  # lastmod: the `<lastmod>` text of the sitemap that listed the URL, with `sitemaps:`, and with
  # `render:` rendered? and render_time); the rest is here.
  class Page
    FIELDS = %i[url final_url status content_type title description canonical links extracted
                depth bytes elapsed meta error change etag last_modified content_hash lastmod rendered].freeze
    # What the page declares in structured data (in `to_h` too).
    DECLARED = %i[json_ld json_ld_errors open_graph].freeze
    # `structured` paths: "json_ld.KEY[.KEY...]" and an OpenGraph / Twitter card property name
    # (OPEN_GRAPH_PREFIXES, defined natively: og:, article:, ..., twitter:).
    JSON_LD_PATH = /\Ajson_ld\.([^.]+(?:\.[^.]+)*)\z/.freeze
    PROPERTY_PATH = /\A(?:#{OPEN_GRAPH_PREFIXES.map { |prefix| Regexp.escape(prefix) }.join("|")})\S+\z/i.freeze

    # Whether `path` is a `structured` path (checked when a Rails mapping is declared).
    def self.structured_path?(path)
      path = path.to_s
      path.match?(JSON_LD_PATH) || path.match?(PROPERTY_PATH)
    end

    # What the page's seed said of its last visit, against this one (`change` is natively
    # :new, :changed, :unchanged, :gone, or nil when this visit tells nothing, e.g. a timeout).
    # New or changed content: the app has not seen this version.
    def changed?
      change == :new || change == :changed
    end

    # A 304 Not Modified, or the same content hash as the last visit: nothing to update.
    def unchanged?
      change == :unchanged
    end

    # 404 or 410 for a URL that had a last visit.
    def gone?
      change == :gone
    end

    # What the next visit of this URL needs to know (a seed's third element, see README).
    def last_visit
      { etag: etag, last_modified: last_modified, content_hash: content_hash }
    end

    # Absolute, normalized links found on the page, in document order.
    def links
      @links ||= _links.freeze
    end

    # Those of `links` every anchor to which is rel="nofollow" (not followed with
    # `follow_nofollow_links: false`).
    def nofollow_links
      @nofollow_links ||= _nofollow_links.freeze
    end

    # Matches of the `extract:` rules: `{ price: ["$1.00"], ... }`.
    def extracted
      @extracted ||= _extracted.each_value(&:freeze).freeze
    end

    # The first match of an extract rule, or nil. A page that was not parsed (it failed, or is
    # not HTML) has no matches for any rule: nil, so a block reading `page[:price]` on every page
    # does not raise on a 404.
    def [](name)
      values = extracted.fetch(name.to_sym) do
        return nil if extracted.empty?

        raise KeyError, "no extract rule named #{name.inspect}"
      end
      values.first
    end

    # The page's JSON-LD blocks that parsed, in document order, each as it is: a Hash (String
    # keys), or an Array for a block that is one; a `@graph` stays inside its block. Deep-frozen.
    def json_ld
      @json_ld ||= _json_ld.freeze
    end

    # Why the other JSON-LD blocks are not in `json_ld`: "block 2: expected value at line 1
    # column 5", blocks numbered from 1 in document order (bounds included: a block over 256 KiB,
    # past 1 MiB in all, past the 16th).
    def json_ld_errors
      @json_ld_errors ||= _json_ld_errors.freeze
    end

    # Every `@type` of the page's JSON-LD nodes (blocks, array elements, `@graph` nodes), once
    # each, in document order: ["Product", "BreadcrumbList"].
    def json_ld_types
      @json_ld_types ||= _json_ld_types.freeze
    end

    # OpenGraph (og:, article:, book:, profile:, music:, video:) and Twitter card (twitter:)
    # `<meta>` properties by lowercase name, each with its values in document order:
    # `{ "og:title" => ["A lamp"], "og:image" => ["/1.jpg", "/2.jpg"] }`. At most 64 values,
    # each cut at 2 KiB.
    def open_graph
      @open_graph ||= _open_graph.each_value(&:freeze).freeze
    end

    # One value the page declares, by path, or nil:
    # - "og:title", "twitter:card" (any case): the property's first value (a String);
    # - "json_ld.offers.price": the first match in the JSON-LD nodes in document order (see
    #   `json_ld_types` for what a node is); at an Array, a number picks an element
    #   ("json_ld.image.0") and a key is looked up in each element in turn; null is no match.
    #   The value as declared (String, Integer, Float, true/false, or a frozen Hash/Array).
    def structured(path)
      path = path.to_s
      if (keys = path[JSON_LD_PATH, 1])
        _json_ld_value(keys)
      elsif path.match?(PROPERTY_PATH)
        open_graph[path.downcase]&.first
      else
        raise ArgumentError, "not a structured data path: #{path.inspect} " \
                             "(\"json_ld.KEY.KEY\", or a property such as \"og:title\")"
      end
    end

    # Response headers named in `keep_headers:`.
    def headers
      @headers ||= _headers.freeze
    end

    # The `meta` its seed carried (Integer, String or Symbol), or nil.
    def meta
      return @meta if defined?(@meta)

      @meta = Meta.decode(_meta_bytes)
    end

    # A PageError when the page failed, else nil.
    def error
      return @error if defined?(@error)

      kind = _error_kind
      @error = kind && PageError.new(kind, _error_message).freeze
    end

    # Fetched with a 2xx status and no error. (`status` is nil when there was no HTTP response:
    # a connect error, robots.txt, a refused address, an invalid URL.)
    def ok?
      error.nil? && (200..299).cover?(status)
    end

    # Whether its title, links and text are those of the DOM Chromium built (`render:`).
    def rendered
      rendered?
    end

    def to_h
      (FIELDS + DECLARED).to_h { |field| [field, field == :error ? error&.to_h : public_send(field)] }
    end

    def inspect
      "#<UcrawlerNative::Page #{url} status=#{status.inspect}#{" error=#{error.kind}" if error}>"
    end
  end
end
