# frozen_string_literal: true

require "logger"

module UcrawlerNative
  @logger = nil
  @defaults = {}.freeze
  # Options of `defaults` that only model crawls read.
  MODEL_OPTIONS = %i[batch_size on_error].freeze

  class << self
    # Where the Rails glue logs: the logger you set, else `Rails.logger` when Rails is loaded,
    # else a Logger to $stderr at WARN.
    def logger
      @logger || rails_logger || (@default_logger ||= Logger.new($stderr, level: Logger::WARN, progname: "ucrawler_native"))
    end

    attr_writer :logger

    # Default options for every crawler of the process (Crawler.new, RedisFrontier crawls,
    # model crawls and jobs): engine options, plus `batch_size` and `on_error` for model crawls
    # (the Railtie sets them from `config.ucrawler_native`). Precedence: engine defaults < these
    # < `crawls` < the call (Crawler.new: engine defaults < these < its keywords).
    attr_reader :defaults

    # The engine options among `defaults` (what Crawler.new starts from).
    def engine_defaults
      @defaults.except(*MODEL_OPTIONS)
    end

    # Validates the options at once (an unknown name or a wrong type raises, naming it).
    def defaults=(options)
      options = options.to_h.transform_keys(&:to_sym)
      Options.normalize(options.except(*MODEL_OPTIONS))
      @defaults = options.freeze
    end

    private

    def rails_logger
      ::Rails.logger if defined?(::Rails) && ::Rails.respond_to?(:logger)
    end
  end
end
