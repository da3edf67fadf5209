# frozen_string_literal: true

module UcrawlerNative
  # What the rake tasks (tasks/ucrawler.rake) print and look up.
  module Tasks
    module_function

    # The crawlable models of the app (eager-loaded first, so that every model is known).
    def models
      ::Rails.application.eager_load! if defined?(::Rails.application) && ::Rails.application
      ActiveRecord::Base.descendants.select { |model| model.include?(Model) && model.ucrawler_url_column }
                        .reject(&:abstract_class?).sort_by(&:name)
    end

    # MODEL (a crawlable model's name) and SCOPE (a class method or scope of it, optional).
    def relation(model_name, scope)
      raise ConfigError, "name a model: rake \"ucrawler:crawl[Site]\" (crawlable models: #{models.map(&:name).join(", ")})" if model_name.blank?

      model = JobRunner.model_class(model_name)
      return model.all if scope.blank?

      unless model.respond_to?(scope)
        raise ConfigError, "#{model.name} has no scope or class method #{scope.inspect}"
      end

      relation = model.public_send(scope)
      raise ConfigError, "#{model.name}.#{scope} must return a relation (got #{relation.class})" unless relation.is_a?(ActiveRecord::Relation)

      relation
    end

    def summary(model, stats)
      "#{model.name}: #{stats[:seeds]} seeds, #{stats[:pages]} pages, #{stats[:errors]} page errors " \
        "(#{stats[:errors_by_kind].map { |kind, n| "#{kind}: #{n}" }.join(", ").presence || "none"}), " \
        "#{stats[:no_url]} rows without URL, #{stats[:rows_written]} rows written in #{format("%.1f", stats[:elapsed])}s"
    end

    # "Site (url): 120 rows, 2 without URL, 40 not crawled yet (crawled_at is nil); update: ..., callback: ..."
    def status(model)
      column = model.ucrawler_url_column
      rows = model.count
      without = model.where(column => [nil, ""]).count
      parts = ["#{rows} rows", "#{without} without URL"]
      marker = model.ucrawler_update&.find { |_, source| source.to_s == "now" }&.first
      parts << "#{model.where(marker => nil).count} not crawled yet (#{marker} is nil)" if marker
      declared = []
      declared << "update: #{model.ucrawler_update.keys.join(", ")}" if model.ucrawler_update
      declared << "callback: #{model.ucrawler_callback}" if model.ucrawler_callback
      declared << "options: #{model.ucrawler_options.inspect}" if model.ucrawler_options.any?
      "#{model.name} (#{column}): #{parts.join(", ")}#{"; #{declared.join("; ")}" if declared.any?}"
    end
  end
end
