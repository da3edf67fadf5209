# frozen_string_literal: true

module UcrawlerNative
  class ModelCrawl
    # The options of a model crawl, resolved and checked: engine defaults < UcrawlerNative.defaults
    # < the model's `crawls` < the call. This layer's own options (OWN_OPTIONS) are read here; the
    # others are the engine's (see Options / README): they pick the process's shared crawler,
    # unless `crawler:` gives one.
    class Settings
      DEFAULT_BATCH_SIZE = 1000
      ON_ERROR = %i[raise skip].freeze
      OWN_OPTIONS = %i[batch_size on_error crawler touch].freeze

      # Splits options into this layer's and the engine's; validates the engine's (an unknown
      # name raises ArgumentError naming it) without building a crawler.
      def self.split(options)
        options = options.to_h.transform_keys(&:to_sym)
        own = options.slice(*OWN_OPTIONS)
        engine = options.except(*OWN_OPTIONS)
        Options.normalize(engine)
        [own, engine]
      end

      attr_reader :batch_size, :on_error, :touch, :crawler

      def initialize(model, options)
        call_own, call_engine = self.class.split(options)
        own, engine = self.class.split(UcrawlerNative.defaults.merge(model.ucrawler_options))
        own = own.merge(call_own)
        @batch_size = positive_integer(:batch_size, own.fetch(:batch_size, DEFAULT_BATCH_SIZE))
        @on_error = on_error_policy(own.fetch(:on_error, :raise))
        @touch = own.fetch(:touch, true)
        @crawler = own[:crawler] || UcrawlerNative.shared_crawler(**engine.merge(call_engine))
        return unless own[:crawler] && call_engine.any?

        raise ArgumentError, "engine options #{call_engine.keys.inspect} cannot apply to the crawler you passed; set them on it"
      end

      private

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
