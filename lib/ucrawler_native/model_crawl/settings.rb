# frozen_string_literal: true

module UcrawlerNative
  class ModelCrawl
    # The options of a model crawl, resolved and checked: engine defaults < MODEL_DEFAULTS
    # (depth 0) < UcrawlerNative.defaults < the model's `crawls` < the call. This layer's own options (OWN_OPTIONS) are read here; the
    # others are the engine's (see Options / README): they pick the process's shared crawler,
    # unless `crawler:` gives one.
    class Settings
      DEFAULT_BATCH_SIZE = 1000
      # Under the initializer's defaults: a model crawl fetches each record's own page unless
      # told otherwise (rows are usually the pages the app cares about); Crawler keeps the
      # engine's unlimited depth.
      MODEL_DEFAULTS = { depth: 0 }.freeze
      ON_ERROR = %i[raise skip].freeze
      # `revisit: false`: seeds carry no last visit even when the model declares `recrawl:`, so
      # every page is fetched in full (after adding a column to the mapping, say).
      OWN_OPTIONS = %i[batch_size on_error crawler touch revisit].freeze

      # Splits options into this layer's and the engine's; validates the engine's (an unknown
      # name raises ArgumentError naming it) without building a crawler.
      def self.split(options)
        options = options.to_h.transform_keys(&:to_sym)
        own = options.slice(*OWN_OPTIONS)
        engine = options.except(*OWN_OPTIONS)
        Options.normalize(engine)
        [own, engine]
      end

      attr_reader :batch_size, :on_error, :touch, :revisit, :crawler

      # `own_pages`: each record's own page only (crawl_and_update): depth 0 whatever the
      # defaults and the model say; a call asking for more is refused. `stores_hash`: rows keep
      # page.content_hash (the model's `recrawl:`): the engine hashes every page unless an
      # option says `hash_content: false`.
      def initialize(model, options, own_pages: false, stores_hash: false)
        call_own, call_engine = self.class.split(options)
        own, engine = self.class.split(MODEL_DEFAULTS.merge(UcrawlerNative.defaults, model.ucrawler_options))
        engine = { hash_content: true }.merge(engine) if stores_hash
        own = own.merge(call_own)
        @batch_size = positive_integer(:batch_size, own.fetch(:batch_size, DEFAULT_BATCH_SIZE))
        @on_error = on_error_policy(own.fetch(:on_error, :raise))
        @touch = own.fetch(:touch, true)
        @revisit = own.fetch(:revisit, true)
        raise ArgumentError, "revisit must be true or false (got #{@revisit.inspect})" unless [true, false].include?(@revisit)
        if own_pages
          own_pages_only(call_engine.fetch(:depth, 0), "depth: #{call_engine[:depth].inspect}")
          engine = engine.merge(depth: 0)
        end
        @crawler = own[:crawler] || UcrawlerNative.shared_crawler(**engine.merge(call_engine))
        if own_pages
          own_pages_only(@crawler.options[:depth], "the crawler: has depth: #{@crawler.options[:depth].inspect}")
          without_sitemaps(@crawler.options.fetch(:sitemaps, "off"))
        end
        hashing(model.name, @crawler.options) if stores_hash && own[:crawler]
        return unless own[:crawler] && call_engine.any?

        raise ArgumentError, "engine options #{call_engine.keys.inspect} cannot apply to the crawler you passed; set them on it"
      end

      private

      def own_pages_only(depth, what)
        return if depth == 0 # rubocop:disable Style/NumericPredicate: nil (unlimited) is not 0

        raise ConfigError, "crawl_and_update writes each record's own page (depth 0), but #{what}: " \
                             "use crawl { |record, page| } to handle the pages found from it"
      end

      # A crawler passed in must give the hash the rows keep (a nil would make every revisit
      # of a page without validators :changed).
      def hashing(model_name, options)
        return if options[:hash_content] || options[:state_dir] || options[:redis]

        raise ConfigError, "#{model_name}: rows keep page.content_hash, but the crawler: has hash_content: false " \
                           "(its pages carry no hash): build it with hash_content: true"
      end

      # A sitemap's pages come at the seed's depth, with the record's meta: they are not its page.
      def without_sitemaps(sitemaps)
        return if sitemaps.to_s == "off"

        raise ConfigError, "crawl_and_update writes each record's own page, but sitemaps: #{sitemaps.inspect} " \
                             "adds the pages its site's sitemaps list: use crawl { |record, page| } to handle them"
      end

      def positive_integer(name, value)
        return value if value.is_a?(Integer) && value.positive?

        raise ArgumentError, "#{name} must be a positive Integer (got #{value.inspect})"
      end

      def on_error_policy(value)
        policy = value.to_s.to_sym
        return policy if ON_ERROR.include?(policy)

        raise ArgumentError, "on_error must be :raise or :skip (got #{value.inspect})"
      end
    end
  end
end
