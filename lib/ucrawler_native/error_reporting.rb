# frozen_string_literal: true

module UcrawlerNative
  # Error hooks and error trackers for exceptions raised by *your* code during a crawl (a block,
  # a model callback, a job). Pages that fail are not exceptions: they arrive with `page.error`.
  #
  #   UcrawlerNative.on_error { |error, context| MyTracker.notify(error, context) }
  #
  # Besides the hooks, an exception is sent to each error tracker that is loaded (unless turned
  # off with `UcrawlerNative.error_trackers = [...]`):
  # - Honeybadger: `Honeybadger.notify(error, context: context)`
  # - Sentry:      `Sentry.capture_exception(error, extra: context)`
  # - Rails 7+:    `Rails.error.report(error, handled: ..., context: context)`
  # If your tracker already subscribes to `Rails.error` (sentry-rails, honeybadger 5 can), keep
  # only `:rails` to avoid reporting twice.
  ERROR_TRACKERS = %i[honeybadger sentry rails].freeze

  @error_hooks = [].freeze
  @error_hooks_lock = Mutex.new
  @error_trackers = ERROR_TRACKERS

  class << self
    # Registers a hook called as `hook.call(error, context)` for every reported exception;
    # `context` is a frozen Hash (`model:`, `record_id:`, `url:`, `job:`, `handled:`, ...).
    # Returns the hook (pass it to `remove_error_hook`). A hook that raises is logged, not raised.
    def on_error(callable = nil, &block)
      hook = callable || block
      raise ArgumentError, "on_error needs a block or an object responding to #call" unless hook.respond_to?(:call)

      @error_hooks_lock.synchronize { @error_hooks = [*@error_hooks, hook].freeze }
      hook
    end

    def remove_error_hook(hook)
      @error_hooks_lock.synchronize { @error_hooks = (@error_hooks - [hook]).freeze }
      hook
    end

    # The registered hooks (a frozen Array).
    def error_hooks
      @error_hooks
    end

    # Trackers reported to when loaded: a subset of ERROR_TRACKERS.
    attr_reader :error_trackers

    # Choosing `:rails` where there is no `Rails.error` (Rails < 7) raises ConfigError: the
    # reports would go nowhere. (ERROR_TRACKERS itself, the default, means "those loaded".)
    def error_trackers=(trackers)
      trackers = Array(trackers).map(&:to_sym)
      unknown = trackers - ERROR_TRACKERS
      raise ArgumentError, "unknown error trackers #{unknown.inspect} (known: #{ERROR_TRACKERS.inspect})" if unknown.any?
      if trackers.include?(:rails) && trackers != ERROR_TRACKERS && !rails_error?
        raise ConfigError, "error_trackers: :rails reports through Rails.error, which #{rails_version} does not have " \
                           "(Rails 7.0+): use UcrawlerNative.on_error { |error, context| ... } or :honeybadger / :sentry"
      end

      @error_trackers = trackers.freeze
    end

    # Adds `context` to every report made by this thread inside the block (jobs add their name
    # and id, so an error in a record's callback says which job ran it).
    def with_error_context(context)
      previous = Thread.current[:ucrawler_native_error_context]
      Thread.current[:ucrawler_native_error_context] = (previous || {}).merge(context)
      yield
    ensure
      Thread.current[:ucrawler_native_error_context] = previous
    end

    # Reports `error` once (an exception already reported is skipped, so layers can each report
    # without duplicates): to the logger, the hooks and the loaded error trackers. `handled`:
    # whether the caller goes on (true) or re-raises (false). Returns whether it reported.
    def report_error(error, context = {}, handled: true)
      return false if error_reported?(error)

      mark_reported(error)
      outer = Thread.current[:ucrawler_native_error_context] || {}
      context = outer.merge(context.to_h).compact.merge(handled: handled).freeze
      logger.error { "ucrawler_native: #{error.class}: #{error.message} #{context.inspect}" }
      error_hooks.each { |hook| safely(hook) { hook.call(error, context) } }
      notify_trackers(error, context, handled)
      true
    end

    # Whether `report_error` has seen this exception.
    def error_reported?(error)
      error.instance_variable_defined?(:@__ucrawler_native_reported)
    end

    private

    def mark_reported(error)
      error.instance_variable_set(:@__ucrawler_native_reported, true) unless error.frozen?
    end

    def notify_trackers(error, context, handled)
      trackers = error_trackers
      if trackers.include?(:honeybadger) && defined?(::Honeybadger) && ::Honeybadger.respond_to?(:notify)
        safely(::Honeybadger) { ::Honeybadger.notify(error, context: context) }
      end
      if trackers.include?(:sentry) && defined?(::Sentry) && ::Sentry.respond_to?(:capture_exception)
        safely(::Sentry) { ::Sentry.capture_exception(error, extra: context) }
      end
      return unless trackers.include?(:rails) && rails_error?

      safely(::Rails.error) { ::Rails.error.report(error, handled: handled, context: context) }
    end

    def rails_error?
      defined?(::Rails) && ::Rails.respond_to?(:error) && ::Rails.error ? true : false
    end

    def rails_version
      defined?(::Rails.version) ? "Rails #{::Rails.version}" : "this process (Rails is not loaded)"
    end

    # A broken hook or tracker must not hide the original error nor stop the others.
    def safely(target)
      yield
    rescue StandardError => e
      logger.error { "ucrawler_native: error hook #{target.inspect} raised #{e.class}: #{e.message}" }
    end
  end
end
