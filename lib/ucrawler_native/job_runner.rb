# frozen_string_literal: true

require "json"
require "active_support/notifications"

module UcrawlerNative
  # What CrawlJob (ActiveJob) and SidekiqWorker (Sidekiq) do with `(model_name, ids, options)`.
  #
  # - `options` (JSON: String keys) are crawl options (`"depth"`, `"per_host"`, `"batch_size"`,
  #   ...) plus `"with"`: `"update"` runs crawl_and_update with `"update"` (a column mapping) or
  #   the model's `crawls ..., update:`; `"callback"` calls the model's `crawls ..., callback:`
  #   instance method with each page. Default: "callback" if the model declares one, else "update".
  # - With `crawls ..., recrawl:`, both revisit the rows (their validators go with the seeds);
  #   an update job writes by change (ModelCrawl::RevisitRows), a callback gets 304 pages with
  #   no content (`page.unchanged?`) and stores what it wants itself. `"revisit" => false`
  #   fetches in full.
  # - Every job of a process uses the process's shared crawler for its options (Registry).
  # - An exception for one record (a callback raising) is reported and the job goes on with the
  #   other records (`"on_error" => "raise"` to fail the job instead). Any other exception (the
  #   database is down, a bad option) is reported and re-raised: the backend retries the job,
  #   which crawls its whole batch again. Both modes are idempotent: re-running a batch rewrites
  #   the same columns / calls the callback again for the same records, so callbacks must be too.
  # - Each job is a `perform.ucrawler_native` event (LogSubscriber logs a line per job). Payload:
  #   the job's `context` (`job`: its class name; `job_id`, `executions` with ActiveJob, `jid`
  #   with Sidekiq; `queue`), `model` (name), `ids` (how many), `with` ("update" or "callback",
  #   nil if the job failed before knowing), `stats` (what the crawl returned: the crawl's stats
  #   with seeds, block_errors, rows_written...); `exception` and `exception_object` if it raised.
  module JobRunner
    WITH = %w[update callback].freeze
    PERFORM = "perform.ucrawler_native"

    module_function

    def perform(model_name, ids, options, context)
      ids = Array(ids)
      UcrawlerNative.with_error_context(context.merge(model: model_name.to_s, ids: ids.size)) do
        event = context.merge(model: model_name.to_s, ids: ids.size, with: nil, stats: nil)
        ActiveSupport::Notifications.instrument(PERFORM, event) do
          event[:stats] = run(model_name, ids, options || {}, event: event)
        end
      rescue StandardError => e
        UcrawlerNative.report_error(e, {}, handled: false)
        raise
      end
    end

    # `event`: the perform.ucrawler_native payload, told what the job does (`with`).
    def run(model_name, ids, options, event: {})
      model = model_class(model_name)
      options = options.to_h.transform_keys(&:to_s)
      with, mapping = plan(model, options)
      event[:with] = with
      options = options.except("with", "update").transform_keys(&:to_sym)
      options[:on_error] = (options[:on_error] || :skip).to_sym
      relation = model.where(model.primary_key => ids)
      return relation.crawl_and_update(mapping, **options) if with == "update"

      callback = model.ucrawler_callback
      relation.crawl(**options) { |record, page| record.public_send(callback, page) }
    end

    # What a job of `model` with these (String-keyed) options does: `["update", mapping]` or
    # `["callback", nil]`. Raises ConfigError for a job that could only fail, or succeed doing
    # nothing: crawl_later checks it before enqueueing, the job before crawling.
    def plan(model, options)
      ModelCrawl::Declaration.check!(model)
      ModelCrawl::Settings.split(options.except("with", "update")) # names a wrong option or type first
      with = (options["with"] || (model.ucrawler_callback ? "callback" : "update")).to_s
      raise ConfigError, "\"with\" must be one of #{WITH.inspect} (got #{with.inspect})" unless WITH.include?(with)
      return [with, nil] if with == "callback" && callback!(model)

      mapping = options["update"].presence || model.ucrawler_update
      if mapping.blank?
        raise ConfigError, "#{model.name}: a job needs something to do: declare `crawls :url, update: { title: :title, " \
                           "crawled_at: :now }` (columns to write) or `callback: :method_name`, or pass update: { ... }"
      end
      if options.key?("depth") && options["depth"] != 0
        raise ConfigError, "#{model.name}: an update job writes each record's own page (depth 0), " \
                           "not depth: #{options["depth"].inspect}; use with: \"callback\" to handle the pages found from it"
      end
      ModelCrawl::ColumnMapping.check_columns(model, mapping, "the job's update: mapping")
      model.ucrawler_recrawl&.check_mapping(mapping) # a recrawl column in it would fail every run
      [with, mapping]
    end

    def callback!(model)
      return true if model.ucrawler_callback

      raise ConfigError, "#{model.name} declares no callback for with: \"callback\": use `crawls :url, callback: :method_name`"
    end

    # Only models that include UcrawlerNative::Model: job arguments never name arbitrary classes.
    def model_class(name)
      model = name.to_s.safe_constantize
      return model if model.is_a?(Class) && model.include?(Model) && model.respond_to?(:primary_key)

      raise Error, "#{name.inspect} is not a model including UcrawlerNative::Model"
    end

    # Validates options for a job and returns them JSON-ready (String keys and Symbols turned to
    # Strings); anything else must survive JSON as it is (no Regexp, Proc, Time...).
    def job_options(options)
      options = json_ready(options.to_h)
      ModelCrawl::Settings.split(options.except("update", "with"))
      unless options["with"].nil? || WITH.include?(options["with"])
        raise ArgumentError, "with: must be one of #{WITH.inspect} (got #{options["with"].inspect})"
      end
      unless JSON.parse(JSON.generate(options)) == options
        raise ArgumentError, "job options must be JSON-safe (Strings, Symbols, numbers, booleans, nil, Arrays, Hashes): #{options.inspect}"
      end

      options
    end

    # Symbols (keys and values) become Strings, durations (`2.seconds`) seconds; other values
    # stay as they are.
    def json_ready(value)
      case value
      when Hash then value.to_h { |k, v| [k.is_a?(Symbol) ? k.to_s : k, json_ready(v)] }
      when Array then value.map { |v| json_ready(v) }
      when Symbol then value.to_s
      when ActiveSupport::Duration then value.to_f
      else value
      end
    end

    def enqueue(via, model_name, ids, options)
      case via
      when :active_job then backend(via).perform_later(model_name, ids, options)
      when :sidekiq then backend(via).perform_async(model_name, ids, options)
      end
    end

    # The job class for `via`, loaded (ConfigError saying what to add when its library is not
    # there: a Gemfile without sidekiq, an app generated with --minimal).
    def backend(via)
      via == :sidekiq ? SidekiqWorker : CrawlJob
    rescue LoadError => e
      hint = if via == :sidekiq
               "the sidekiq gem: add `gem \"sidekiq\"` to your Gemfile"
             else
               "ActiveJob: add `require \"active_job/railtie\"` to config/application.rb"
             end
      raise ConfigError, "via: #{via.inspect} needs #{hint} (#{e.message})"
    end
  end
end
