# frozen_string_literal: true

require "logger"

module UcrawlerNative
  @logger = nil
  @defaults = {}.freeze

  class << self
    # Where the Rails glue logs: the logger you set, else `Rails.logger` when Rails is loaded,
    # else a Logger to $stderr at WARN.
    def logger
      @logger || rails_logger || (@default_logger ||= Logger.new($stderr, level: Logger::WARN, progname: "ucrawler_native"))
    end

    attr_writer :logger

    # Default options for model crawls and jobs: engine options, plus `batch_size` and
    # `on_error` (the Railtie sets them from `config.ucrawler_native`). Precedence: engine
    # defaults < these < `crawls` < the call.
    attr_reader :defaults

    # Validates the options at once (an unknown name or a wrong type raises, naming it).
    def defaults=(options)
      options = options.to_h.transform_keys(&:to_sym)
      Options.normalize(options.except(:batch_size, :on_error))
      @defaults = options.freeze
    end

    private

    def rails_logger
      ::Rails.logger if defined?(::Rails) && ::Rails.respond_to?(:logger)
    end
  end
end
