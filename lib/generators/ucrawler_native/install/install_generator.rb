# frozen_string_literal: true

require "rails/generators"
require "rails/generators/active_record/migration"
require_relative "../../../ucrawler_native/rails"
require_relative "initializer_settings"
require_relative "crawl_columns"

module UcrawlerNative
  module Generators
    # `bin/rails generate ucrawler_native:install [MODEL] [--url-column=url]`:
    # - config/initializers/ucrawler_native.rb: every setting, commented, with its default;
    # - config/routes.rb: the dashboard's mount (locked, 403, until access is configured in the
    #   initializer) and a commented example of mounting it behind a route constraint;
    # - with MODEL: a migration adding the URL, status and recrawl columns (CrawlColumns; a
    #   create_table when the table does not exist), and `include UcrawlerNative::Model` with a
    #   `crawls` declaration in the model (its file is created when there is none).
    class InstallGenerator < ::Rails::Generators::Base
      include ::ActiveRecord::Generators::Migration

      ROUTES = <<~RUBY
        # The crawler dashboard: 403 until access is configured (config/initializers/ucrawler_native.rb).
        mount UcrawlerNative::Web => "/crawler"
        # Or behind your own check (then UcrawlerNative::Web.access = :routes), e.g. Devise admins:
        # authenticate :user, ->(user) { user.admin? } do
        #   mount UcrawlerNative::Web => "/crawler"
        # end
      RUBY

      source_root File.expand_path("templates", __dir__)
      desc "Installs ucrawler_native: the initializer, the dashboard's route (locked until configured) and, given a " \
           "MODEL, the migration of its crawl columns and the crawls declaration in the model."
      argument :model_name, type: :string, required: false, banner: "MODEL",
                            desc: "a model to crawl (e.g. Site): its migration and declaration"
      class_option :url_column, type: :string, default: "url", desc: "the model's URL column"

      def create_initializer
        template "initializer.rb.tt", "config/initializers/ucrawler_native.rb"
      end

      def add_routes
        routes = File.join(destination_root, "config/routes.rb")
        return say_status(:skip, "config/routes.rb (none)", :yellow) unless File.exist?(routes)
        return say_status(:identical, "config/routes.rb (UcrawlerNative::Web)", :blue) if File.read(routes).include?("UcrawlerNative::Web")

        route ROUTES
      end

      def create_migration_file
        return unless model_name
        return say_status(:skip, "migration: #{table_name} has every crawl column", :blue) if columns.to_add.empty?

        say_status(:note, columns.note, :yellow) if columns.note
        migration_template "migration.rb.tt", File.join(db_migrate_path, "#{migration_name}.rb")
      end

      def add_model_concern
        return unless model_name
        return template("model.rb.tt", model_path) unless File.exist?(File.join(destination_root, model_path))
        if File.read(File.join(destination_root, model_path)).include?("UcrawlerNative::Model")
          return say_status(:identical, "#{model_path} (includes UcrawlerNative::Model)", :blue)
        end

        empty = File.read(File.join(destination_root, model_path)).match?(/class #{model_class_name.demodulize}\b.*\n\s*end\b/)
        inject_into_class model_path, model_class_name.demodulize, empty ? crawls_declaration : "#{crawls_declaration}\n"
      end

      private

      def model_class_name
        model_name.camelize
      end

      def model_path
        File.join("app/models", "#{model_class_name.underscore}.rb")
      end

      # The model's table: its own table_name when the class loads, else the conventional one.
      def table_name
        @table_name ||= begin
          model = model_class_name.safe_constantize
          model.respond_to?(:table_name) && model.table_name ? model.table_name : model_class_name.tableize.tr("/", "_")
        rescue StandardError, LoadError # a model that cannot load here (no database adapter)
          model_class_name.tableize.tr("/", "_")
        end
      end

      def columns
        @columns ||= CrawlColumns.new(table: table_name, url_column: options[:url_column],
                                      model_file_exists: File.exist?(File.join(destination_root, model_path)))
      end

      def create_table?
        !columns.table_exists?
      end

      def migration_name
        create_table? ? "create_#{table_name}" : "add_ucrawler_native_to_#{table_name}"
      end

      def initializer_settings
        InitializerSettings.lines
      end

      # The model's `include` and `crawls` lines, indented for the class body.
      def crawls_declaration
        recrawl = "etag: :etag, last_modified: :last_modified, content_hash: :content_hash, checked_at: :checked_at"
        recrawl += ",\n                  next_crawl_at: :next_crawl_at, interval: :crawl_interval" if columns.schedule?
        <<~RUBY.gsub(/^(?=.)/, "  ")
          include UcrawlerNative::Model

          # What each visit writes (update:; add content columns: title: :title, "og:image" => ...,
          # README "Rails") and the revisits (recrawl:; README "Keeping a table fresh"):
          #   #{model_class_name}.crawl_and_update   # inline
          #   #{model_class_name}#{".due_for_crawl" if columns.schedule?}.crawl_later  # in jobs#{", from a recurring job" if columns.schedule?}
          crawls #{options[:url_column].to_sym.inspect},
                 update: { http_status: :status, crawl_error: :error, crawled_at: :now },
                 recrawl: { #{recrawl} }
        RUBY
      end
    end
  end
end
